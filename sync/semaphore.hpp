#pragma once
// corio::semaphore — a counting semaphore whose permits are RAII objects.
//
//   corio::semaphore slots(8);
//   {
//     auto p = co_await slots.acquire();       // one permit; returned when p goes away
//     auto q = co_await slots.acquire_many(3); // three at once
//   }
//   if (auto p = slots.try_acquire()) ...      // never waits
//   slots.close();                             // waiters and later acquires throw semaphore_closed
//
// Fairness: strictly FIFO. A request for n permits at the head of the queue collects permits
// as they are released, and nobody behind it is served first, even a request for fewer than
// are available (so large requests do not starve). Cancellation: a cancelled acquire leaves
// the queue and returns whatever permits it had collected (or been granted) to the next
// waiters.
//
// Memory ordering: releasing permits happens-before an acquire that obtains them. Acquiring
// without suspension counts against the task's cooperative budget.
//
// Waiting allocates nothing (the node is in the awaiting frame). Any task or thread may
// release; plain threads acquire with blocking_acquire. The semaphore must outlive its permits
// and pending acquires.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "../runtime/detail/atomic.hpp"
#include "../runtime/detail/export.hpp"
#include "detail/spin_lock.hpp"
#include "../runtime/detail/wait_queue.hpp"

namespace corio {

class semaphore;
namespace detail {
struct model_access;
}

/// Thrown by acquire, acquire_many, try_acquire and blocking_acquire on a closed semaphore.
class CORIO_API semaphore_closed : public std::runtime_error {
 public:
  /// `what` is the message.
  explicit semaphore_closed(const std::string& what) : std::runtime_error(what) {}
};

/// Permits held from a semaphore; they go back when the permit is destroyed (or release()d).
/// Move-only.
class [[nodiscard]] CORIO_API semaphore_permit {
 public:
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  semaphore_permit(semaphore_permit&& o) noexcept : s_(std::exchange(o.s_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
  semaphore_permit& operator=(semaphore_permit&& o) noexcept {
    if (this != &o) {
      release();
      s_ = std::exchange(o.s_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  semaphore_permit(const semaphore_permit&) = delete;
  semaphore_permit& operator=(const semaphore_permit&) = delete;
  ~semaphore_permit() { release(); }

  /// How many permits this holds (0 once released, forgotten or moved from).
  std::size_t count() const noexcept { return n_; }
  /// Gives the permits back now.
  void release() noexcept;
  /// Keeps the permits out of the semaphore for good (it ends up with fewer).
  void forget() noexcept {
    s_ = nullptr;
    n_ = 0;
  }
  /// Takes over the permits of `other` (from the same semaphore; usage_error otherwise).
  void merge(semaphore_permit&& other);

 private:
  friend class semaphore;
  friend class semaphore_acquire_awaitable;
  semaphore_permit(semaphore* s, std::size_t n) noexcept : s_(s), n_(n) {}
  semaphore* s_;
  std::size_t n_;
};

/// Returned by semaphore::acquire / acquire_many. Movable until awaited.
class [[nodiscard]] CORIO_API semaphore_acquire_awaitable {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Its wait (runtime/detail/wait_queue.hpp): released `handed` with all `wanted` permits,
  /// or `closed`.
  struct waiter : detail::wait_node {
    std::size_t wanted = 0;
    std::size_t got = 0;  ///< collected so far while at the head of the queue
  };

  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  semaphore_acquire_awaitable(semaphore_acquire_awaitable&& o) noexcept : s_(o.s_) { node_.wanted = o.node_.wanted; }
  semaphore_acquire_awaitable& operator=(semaphore_acquire_awaitable&&) = delete;
  ~semaphore_acquire_awaitable();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  /// Throws semaphore_closed if the semaphore was closed before the permits were granted.
  semaphore_permit await_resume();

 private:
  friend class semaphore;
  semaphore_acquire_awaitable(semaphore* s, std::size_t n) noexcept : s_(s) { node_.wanted = n; }
  semaphore* s_;
  waiter node_;
};

/// A counting semaphore handing out RAII permits (see above). Any task or thread may acquire
/// (plain threads through blocking_acquire) and release at once.
class CORIO_API semaphore {
 public:
  /// Starts with `permits` permits.
  explicit semaphore(std::size_t permits) noexcept : permits_(permits) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// Awaitable: one permit. Throws corio::semaphore_closed if the semaphore is or becomes
  /// closed. Any task on any worker.
  ///
  /// **Cancel safety:** cancel-safe: dropped while queued it leaves the queue and hands any
  /// permits it had collected (or been granted) to the next waiters; it keeps none.
  semaphore_acquire_awaitable acquire() noexcept { return {this, 1}; }
  /// Awaitable: `n` permits at once (0 completes at once with an empty permit). Cancel-safe,
  /// as acquire(): permits collected part-way go back.
  semaphore_acquire_awaitable acquire_many(std::size_t n) noexcept { return {this, n}; }
  /// `n` permits if they are available now and nobody waits; never waits. Throws
  /// semaphore_closed if the semaphore is closed.
  std::optional<semaphore_permit> try_acquire(std::size_t n = 1);
  /// For plain threads: blocks until `n` permits are granted. Throws semaphore_closed, and
  /// usage_error on a worker thread.
  semaphore_permit blocking_acquire(std::size_t n = 1);

  /// Adds `n` new permits (handed to waiters first, in order). Throws std::overflow_error if
  /// the count would overflow.
  void add_permits(std::size_t n);
  /// Permits available now (not counting those collected by a waiter at the head).
  std::size_t available_permits() noexcept;

  /// Wakes every waiter with semaphore_closed, and makes every later acquire throw it.
  /// Permits already held are unaffected and may still be released.
  void close() noexcept;
  /// True once close() was called.
  bool is_closed() noexcept;

 private:
  friend class semaphore_permit;
  friend class semaphore_acquire_awaitable;
  friend struct detail::model_access;  // tests/model/sync_waiters_model.cpp
  using waiter = semaphore_acquire_awaitable::waiter;
  enum class outcome { granted, closed, queued };

  outcome acquire_or_enqueue(waiter& w, std::coroutine_handle<> h, detail::thread_parker* parker, const char* what);
  void release(std::size_t n) noexcept;
  void abandon(waiter& w) noexcept;
  /// Hands permits_ to the head waiters; unlocks. (Called with the lock held.)
  void distribute_and_unlock(std::unique_lock<detail::spin_lock>& l) noexcept;

  detail::spin_lock lock_;
  std::size_t permits_;
  bool closed_ = false;
  detail::wait_queue<waiter> queue_;
};

}  // namespace corio
