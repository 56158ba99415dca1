#pragma once
// corio::wait_group — wait for a group of jobs to finish (Go's sync.WaitGroup).
//
//   corio::wait_group wg;
//   for (auto& j : jobs) { wg.add(); corio::spawn(run(j, wg)).detach(); }   // run calls wg.done()
//   co_await wg.wait();
//
// A latch whose count may also go up: add(n) before starting jobs, done() as each finishes;
// wait() completes when the count is zero. It is reusable: once the count has reached zero,
// add() starts a new round, and waiters that joined during a round are released when that
// round ends. Memory ordering: each done() happens-before the return of the wait()s it
// completes. add/done are non-blocking and callable from any thread. Waiting allocates
// nothing; a cancelled wait leaves cleanly.

#include <cstddef>

#include "../runtime/detail/export.hpp"
#include "detail/countdown.hpp"

namespace corio {

/// A counter of outstanding jobs that tasks can wait on (see above). add/done/wait may be
/// called from any number of tasks and threads at once.
class CORIO_API wait_group {
 public:
  /// The awaitable returned by wait(): completes (with nothing) once the count is zero, at
  /// once if it is. Movable until awaited; awaited once, by any task on any worker.
  /// Cancel-safe: dropped, it leaves the queue of waiters and changes nothing.
  using wait_awaitable = detail::countdown_awaitable;

  /// A group with no jobs outstanding.
  wait_group() noexcept : c_(0) {}
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  /// Adds `n` jobs. Throws std::overflow_error if the count would overflow.
  void add(std::size_t n = 1) { c_.add(n, "corio::wait_group::add"); }
  /// One job finished. Throws std::invalid_argument if there was none outstanding (more
  /// done() calls than add()ed).
  void done() { c_.sub(1, "corio::wait_group::done"); }
  /// Awaitable: completes when the count is zero (at once if it is now). Any task on any
  /// worker. Cancel-safe: a dropped wait leaves cleanly and changes nothing.
  wait_awaitable wait() noexcept { return {c_, "corio::wait_group::wait"}; }
  /// wait() for plain threads. Throws usage_error on a worker thread.
  void blocking_wait() { detail::countdown_blocking_wait(c_, "corio::wait_group::blocking_wait"); }
  /// Jobs outstanding (a snapshot).
  std::size_t count() noexcept { return c_.count(); }

 private:
  detail::countdown c_;
};

}  // namespace corio
