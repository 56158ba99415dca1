#pragma once
// The lock behind corio::mutex<T>: one atomic word for the uncontended paths and a FIFO of
// waiter nodes behind a spin lock for the contended ones.
//
// state_ bits: `locked` (someone owns the mutex), `has_waiters` (the queue is non-empty).
//  - lock fast path: CAS 0 -> locked. It fails whenever anyone waits, so newcomers queue
//    behind the waiters: FIFO.
//  - unlock fast path: CAS locked -> 0; with `has_waiters` set it fails and the slow path
//    hands the lock straight to the head waiter (state stays `locked`; `has_waiters` is
//    cleared with the last one). A hand-off is never undone: the receiver owns the lock from
//    that moment, and passes it on if it turns out to have been cancelled.
//  - `has_waiters` is only set or cleared, and the queue only changed, under lock_.
// The queue is a wait queue (runtime/detail/wait_queue.hpp): a waiter handed the lock is
// released `handed`, and passes the lock on (unlock) if it is abandoned before it resumes.
// Before queueing, a locker spins briefly while the mutex is held without waiters: critical
// sections are usually far shorter than a suspension.

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "../../runtime/detail/atomic.hpp"
#include "../../runtime/detail/export.hpp"
#include "../../runtime/detail/wait_queue.hpp"
#include "spin_lock.hpp"

namespace corio::detail {

class CORIO_API mutex_core {
 public:
  static constexpr std::uint32_t locked = 1;
  static constexpr std::uint32_t has_waiters = 2;

  /// A waiter node, in the lock awaitable (or on a blocked thread's stack).
  using waiter = wait_node;

  mutex_core() noexcept = default;
  mutex_core(const mutex_core&) = delete;
  mutex_core& operator=(const mutex_core&) = delete;

  bool try_lock() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);  // a failed CAS costs as much as one that works
    return s == 0 && state_.compare_exchange_strong(s, locked, std::memory_order_acquire, std::memory_order_relaxed);
  }
  void unlock() noexcept {
    std::uint32_t s = locked;
    if (state_.load(std::memory_order_relaxed) == locked &&
        state_.compare_exchange_strong(s, 0, std::memory_order_release, std::memory_order_relaxed))
      return;
    unlock_slow();
  }
  bool is_locked() const noexcept { return state_.load(std::memory_order_relaxed) & locked; }

  /// Contended lock: spins a little, then takes the lock or queues `w`. Returns true if the
  /// lock was taken (w is untouched), false if `w` now waits (its waker made from `h`, or from
  /// `parker` when not null). Throws usage_error (with nothing changed) when a task waker is
  /// needed outside a task.
  bool lock_or_enqueue(waiter& w, std::coroutine_handle<> h, thread_parker* parker, const char* what);
  /// For a waiter leaving early (its task cancelled): unlinks it, or passes on a lock that was
  /// already handed to it.
  void abandon(waiter& w) noexcept;

 private:
  void unlock_slow() noexcept;

  atomic<std::uint32_t> state_{0};
  spin_lock lock_;
  wait_queue<waiter> queue_;
};

}  // namespace corio::detail
