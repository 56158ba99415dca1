#pragma once
// The lock behind corio::rw_lock<T>: a reader count, a writer flag and one FIFO of waiting
// readers and writers, all behind a spin lock.
//
// Grant rule (grant_and_unlock): walk the queue from the head; grant readers while no writer
// holds the lock; grant a writer only when nobody holds it; stop at the first waiter that
// cannot be granted. A newcomer is granted at once only if the queue is empty, so a waiting
// writer holds back every reader that arrives after it (writers do not starve), and the
// readers queued behind that writer are granted together once it is done.
// The queue is a wait queue (runtime/detail/wait_queue.hpp): a granted waiter is released
// `handed` (already counted as a reader or the writer) and releases what it was granted if it
// is abandoned before it resumes.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "../../runtime/detail/export.hpp"
#include "spin_lock.hpp"
#include "../../runtime/detail/wait_queue.hpp"

namespace corio::detail {

class CORIO_API rw_lock_core {
 public:
  struct waiter : wait_node {
    bool writer = false;
  };

  rw_lock_core() noexcept = default;
  rw_lock_core(const rw_lock_core&) = delete;
  rw_lock_core& operator=(const rw_lock_core&) = delete;

  bool try_acquire(bool writer) noexcept;
  /// Takes the lock (true), or queues `w` (false) with a waker made from `h` or `parker`.
  bool acquire_or_enqueue(waiter& w, bool writer, std::coroutine_handle<> h, thread_parker* parker, const char* what);
  void release(bool writer) noexcept;
  /// The waiter's task was cancelled: leave the queue, or release what was granted.
  void abandon(waiter& w) noexcept;

  std::size_t readers() noexcept;
  bool write_locked() noexcept;

 private:
  void grant_and_unlock(std::unique_lock<spin_lock>& l) noexcept;

  spin_lock lock_;
  std::size_t readers_ = 0;
  bool writer_ = false;
  wait_queue<waiter> queue_;
};

}  // namespace corio::detail
