#pragma once
// corio::latch — a single-use countdown: tasks (and threads) wait until it reaches zero.
//
//   corio::latch ready(3);
//   ... each of three workers: ready.count_down();
//   co_await ready.wait();           // completes once the count is zero (at once if it is)
//
// Like std::latch, but waiting suspends only the task. Fairness: every waiter is released
// when the count reaches zero (in the order they started waiting). Memory ordering: each
// count_down happens-before the return of every wait() that it (with the others) completes.
// Counting down is non-blocking and callable from any thread; a cancelled wait leaves
// cleanly. Waiting allocates nothing. See wait_group.hpp for a counter that can go up too.

#include <cstddef>

#include "../runtime/detail/export.hpp"
#include "detail/countdown.hpp"

namespace corio {

/// A single-use countdown (see above). Any number of tasks and threads may count down and
/// wait at once.
class CORIO_API latch {
 public:
  /// The awaitable returned by wait() and arrive_and_wait(): completes (with nothing) once the
  /// count is zero, at once if it is. Movable until awaited; awaited once, by any task on
  /// any worker. Cancel-safe: dropped, it leaves the queue of waiters and changes nothing.
  using wait_awaitable = detail::countdown_awaitable;

  /// A latch that opens after `count` count-downs (at once for 0).
  explicit latch(std::size_t count) noexcept : c_(count) {}
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  /// Decrements by `n`; releases the waiters when the count reaches zero. Throws
  /// std::invalid_argument if n is larger than what is left (nothing changes then).
  void count_down(std::size_t n = 1) { c_.sub(n, "corio::latch::count_down"); }
  /// True once the count is zero.
  bool try_wait() noexcept { return c_.count() == 0; }
  /// Awaitable: completes once the count is zero. Any task on any worker. Cancel-safe: a
  /// dropped wait leaves cleanly and changes nothing.
  wait_awaitable wait() noexcept { return {c_, "corio::latch::wait"}; }
  /// count_down(n), then wait(). The count-down happens at once, when this is called: a
  /// dropped await does not undo it (the wait itself is cancel-safe).
  wait_awaitable arrive_and_wait(std::size_t n = 1) {
    count_down(n);
    return wait();
  }
  /// wait() for plain threads. Throws usage_error on a worker thread.
  void blocking_wait() { detail::countdown_blocking_wait(c_, "corio::latch::blocking_wait"); }
  /// What is left to count down (a snapshot).
  std::size_t count() noexcept { return c_.count(); }

 private:
  detail::countdown c_;
};

}  // namespace corio
