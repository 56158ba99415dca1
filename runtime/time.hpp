#pragma once
// Timers: sleep, sleep_until, interval, timeout; and paused time for tests.
//
// Each worker keeps a hierarchical timing wheel with 1 ms slots (detail/timer_wheel.hpp), so
// arming and cancelling a timer is O(1). A timer never fires early: deadlines round up to the
// next millisecond, so a sleep typically ends 0-1 ms after its deadline. The sleeping task is
// resumed by the scheduler (on any worker). Destroying a pending sleep (e.g. when its task is
// aborted) disarms it.
//
// Durations: zero or negative sleeps complete at once (they still count against the task's
// cooperative budget, so a loop of them yields now and then); huge ones saturate at the end of
// time and never overflow.
//
// Paused time: a runtime built with start_paused() has a clock that stands still. It moves when
// a task calls `co_await corio::time::advance(d)`, and when every worker is idle it jumps
// straight to the earliest timer, so a test of a 10-minute timeout runs in microseconds, in a
// deterministic order. (While paused, time also jumps if the only thing left is waiting for
// I/O or for another thread.)

#include <chrono>
#include <coroutine>
#include <string>

#include "detail/await_traits.hpp"
#include "detail/scheduler.hpp"
#include "detail/task_group.hpp"
#include "error.hpp"
#include "join.hpp"
#include "task.hpp"

namespace corio {

/// The clock of every corio deadline.
using clock = std::chrono::steady_clock;

/// The runtime's clock (the paused clock where time is paused); steady_clock outside a runtime.
clock::time_point now() noexcept;

namespace detail {
/// now + d without overflow, for any duration type.
template <class Rep, class Period>
clock::time_point saturating_deadline(clock::time_point from, std::chrono::duration<Rep, Period> d) {
  if (d <= d.zero()) return from;
  using fsec = std::chrono::duration<long double>;
  // The room left, computed in long double: max() - from itself overflows for a `from` before
  // the clock's epoch (time_point::min(), say).
  if (fsec(d) >= fsec(clock::time_point::max().time_since_epoch()) - fsec(from.time_since_epoch()))
    return clock::time_point::max();
  return from + std::chrono::duration_cast<clock::duration>(d);
}
std::string describe(clock::duration d);
}  // namespace detail

/// Awaitable that completes at a deadline. Move only before it is awaited.
class [[nodiscard]] sleep_awaitable : detail::timer_node {
 public:
  /// Completes at `deadline`. Must be awaited in a task on a runtime (else corio::usage_error);
  /// the timer lives in the worker that armed it, and aborting the task disarms it.
  explicit sleep_awaitable(clock::time_point deadline) noexcept : deadline_(deadline) {}
  sleep_awaitable(sleep_awaitable&& o) noexcept : deadline_(o.deadline_) {}
  sleep_awaitable& operator=(sleep_awaitable&&) = delete;
  ~sleep_awaitable();

  /// When it completes.
  clock::time_point deadline() const noexcept { return deadline_; }

  bool await_ready();
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h);
  void await_resume() noexcept { armed_on_ = nullptr; }

 private:
  static void on_fire(detail::timer_node* n) noexcept;
  clock::time_point deadline_;
  detail::task_header* waker_ = nullptr;
  detail::worker* armed_on_ = nullptr;
};

/// Completes at `deadline` (at once if it has passed).
inline sleep_awaitable sleep_until(clock::time_point deadline) noexcept { return sleep_awaitable(deadline); }

/// Completes after `d` (measured from this call).
template <class Rep, class Period>
sleep_awaitable sleep(std::chrono::duration<Rep, Period> d) {
  return sleep_awaitable(detail::saturating_deadline(now(), d));
}

/// How late a tick may complete and still count as on time (interval). Timers fire up to about
/// a millisecond after their deadline, so without a margin every tick would count as missed and
/// a `delay` interval would drift by that much per tick. A tick that completes within this
/// margin keeps the nominal schedule in all three modes (as Tokio's interval does); only a tick
/// later than that is missed and handled by the missed_tick_behavior.
inline constexpr clock::duration interval_tolerance = std::chrono::milliseconds(5);

/// What an interval does about ticks it missed because the task was late to ask for them (more
/// than interval_tolerance after the tick was due).
enum class missed_tick_behavior {
  burst,  ///< fire the missed ticks back to back until caught up (the schedule is kept)
  delay,  ///< the next tick is one period after the late one (the schedule shifts)
  skip,   ///< drop the missed ticks; the next one is the next on the original schedule
};

/// Ticks every `period`, starting at once (or at `start`). `co_await iv.tick()` completes at the
/// next tick and returns the instant it was scheduled for.
class interval {
 public:
  /// Ticks every `period` from now. Throws std::invalid_argument if period is not positive.
  explicit interval(clock::duration period, missed_tick_behavior b = missed_tick_behavior::burst)
      : interval(now(), period, b) {}
  /// Throws std::invalid_argument if period is not positive.
  interval(clock::time_point start, clock::duration period, missed_tick_behavior b = missed_tick_behavior::burst);

  /// Completes at the next tick and returns the instant it was scheduled for. One task at a
  /// time: an interval is a plain object, not synchronised.
  task<clock::time_point> tick();
  /// The next tick is one period from now.
  void reset() { next_ = detail::saturating_deadline(now(), period_); }
  /// The period and the missed-tick behaviour it was made with.
  clock::duration period() const noexcept { return period_; }
  missed_tick_behavior behavior() const noexcept { return behavior_; }

 private:
  clock::time_point next_;
  clock::duration period_;
  missed_tick_behavior behavior_;
};

/// Awaits `aw` (a task or any awaitable) for at most `d`. If the time runs out first, the inner
/// work is cancelled (and has finished unwinding) and corio::timed_out is thrown. The inner
/// work runs as a child task; it may borrow from the caller's frame.
template <class Rep, class Period, class A>
task<detail::await_result_t<decltype(detail::as_task(std::declval<A>()))>> timeout(std::chrono::duration<Rep, Period> d,
                                                                                    A aw) {
  using T = detail::await_result_t<decltype(detail::as_task(std::declval<A>()))>;
  auto deadline = detail::saturating_deadline(now(), d);
  auto g = detail::task_group::create(detail::task_group::policy::abort_on_first);
  std::optional<join_handle<T>> inner;
  {
    detail::abort_guard guard{&*g};
    inner.emplace(g->spawn(detail::as_task(std::move(aw))));
    g->spawn(detail::awaitable_task(sleep_until(deadline))).detach();
    guard.g = nullptr;
  }
  co_await g->wait_all();
  if (*g->first_finished() != 0) {
    inner->detach();
    throw timed_out("corio::timeout: the operation did not finish within " +
                    detail::describe(std::chrono::duration_cast<clock::duration>(d)));
  }
  co_return inner->take_result();
}

namespace time {
/// Paused time only: moves the clock forward by `d`, fires every timer that became due, then
/// yields so the tasks they woke run before the caller continues. Throws corio::usage_error if
/// time is not paused, std::invalid_argument for a negative d.
task<void> advance(clock::duration d);
/// True if the current runtime's clock is paused.
bool is_paused() noexcept;
}  // namespace time

}  // namespace corio
