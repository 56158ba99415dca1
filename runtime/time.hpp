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
// time and never overflow; NaN counts as zero. Every conversion saturates.
//
// Cancel safety: a sleep and an interval's tick() hold nothing: dropped at their suspension
// point they lose nothing (a dropped tick is simply not consumed: the next tick() is due at
// the same instant). timeout and timeout_at are as cancel-safe as the awaitable they wrap.
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
#include "detail/branch_driver.hpp"
#include "detail/branch_slot.hpp"
#include "detail/export.hpp"
#include "detail/spawn.hpp"
#include "error.hpp"
#include "join.hpp"
#include "task.hpp"

namespace corio {

/// The clock of every corio deadline.
using clock = std::chrono::steady_clock;

/// The runtime's clock (the paused clock where time is paused); steady_clock outside a runtime.
CORIO_API clock::time_point now() noexcept;

namespace detail {
/// `d` as a clock::duration, saturated at the ends of its range; NaN becomes zero.
template <class Rep, class Period>
clock::duration saturating_duration(std::chrono::duration<Rep, Period> d) noexcept {
  using fsec = std::chrono::duration<long double>;
  if (!(d == d)) return clock::duration::zero();  // NaN
  if (fsec(d) >= fsec(clock::duration::max())) return clock::duration::max();
  if (fsec(d) <= fsec(clock::duration::min())) return clock::duration::min();
  return std::chrono::duration_cast<clock::duration>(d);
}

/// `from + d` without overflow, for any duration type: zero, negative or NaN durations give
/// `from`, huge ones the end of time.
template <class Rep, class Period>
clock::time_point saturating_deadline(clock::time_point from, std::chrono::duration<Rep, Period> d) noexcept {
  if (!(d > d.zero())) return from;  // also NaN
  using fsec = std::chrono::duration<long double>;
  // The room left, computed in long double: max() - from itself overflows for a `from` before
  // the clock's epoch (time_point::min(), say).
  if (fsec(d) >= fsec(clock::time_point::max().time_since_epoch()) - fsec(from.time_since_epoch()))
    return clock::time_point::max();
  return from + std::chrono::duration_cast<clock::duration>(d);
}
/// A duration for messages ("250 ms", "-3 s"); min() and max() print without overflow.
CORIO_API std::string describe(clock::duration d);
/// Throws corio::timed_out naming `what` and the duration (or "its deadline" without one).
CORIO_API [[noreturn]] void throw_timed_out(const char* what, const clock::duration* within);
}  // namespace detail

/// Awaitable that completes at a deadline. Move only before it is awaited.
class [[nodiscard]] CORIO_API sleep_awaitable : detail::timer_node {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;

  /// Completes at `deadline`. Must be awaited in a task on a runtime (else corio::usage_error);
  /// the timer lives in the worker that armed it, and aborting the task disarms it.
  explicit sleep_awaitable(clock::time_point deadline) noexcept : deadline_(deadline) {}
  /// Moves a sleep that has not been awaited yet (the deadline is kept; nothing is armed).
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
  bool due_ = false;  ///< await_ready found the deadline passed (await_suspend then only yields)
};

/// Completes at `deadline` (at once if it has passed). Cancel-safe: dropped while it waits
/// (an aborted task, a lost select or timeout), it disarms its timer and has taken nothing.
/// Awaited by the task that made it, on any worker.
inline sleep_awaitable sleep_until(clock::time_point deadline) noexcept { return sleep_awaitable(deadline); }

/// Completes after `d` (measured from this call; huge or NaN durations saturate, a zero or
/// negative one completes at once). Cancel-safe, as sleep_until.
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
class CORIO_API interval {
 public:
  /// Ticks every `period` from now. Throws std::invalid_argument if period is not positive.
  explicit interval(clock::duration period, missed_tick_behavior b = missed_tick_behavior::burst)
      : interval(now(), period, b) {}
  /// Throws std::invalid_argument if period is not positive.
  interval(clock::time_point start, clock::duration period, missed_tick_behavior b = missed_tick_behavior::burst);

  /// Completes at the next tick and returns the instant it was scheduled for. One task at a
  /// time: an interval is a plain object, not synchronised. Cancel-safe: a tick dropped
  /// before it completes is not consumed; the next call returns the same tick.
  task<clock::time_point> tick();
  /// The next tick is one period from now.
  void reset() { next_ = detail::saturating_deadline(now(), period_); }
  /// The period it was made with.
  clock::duration period() const noexcept { return period_; }
  /// The missed-tick behaviour it was made with.
  missed_tick_behavior behavior() const noexcept { return behavior_; }

 private:
  clock::time_point next_;
  clock::duration period_;
  missed_tick_behavior behavior_;
};

namespace detail {
template <class A>
task<branch_result_t<A>> timeout_impl(clock::time_point deadline, A aw, const char* what, clock::duration within,
                                      bool has_within) {
  branch_slot<A> slot(std::move(aw));
  branch_spec spec = slot.spec();
  branch_driver d(what, &spec, 1);
  if (!d.step()) {  // the deadline is looked at only once the operation has suspended
    // timeout(d) knows without the clock whether d had run out at the call (d <= 0); a deadline
    // reached since then is inserted already due and fires at the worker's next timer pass.
    if (has_within) d.arm(deadline, !(within > clock::duration::zero()));
    else d.arm(deadline);
    while (!d.step()) co_await d.park();
  }
  if (d.winner() < 0) {
    while (d.cancel_losers()) co_await d.park();
    throw_timed_out(what, has_within ? &within : nullptr);
  }
  co_return slot.result(d, 0);
}
}  // namespace detail

/// Awaits `aw` (a task or any awaitable) for at most `d`, inside the calling task (no task is
/// spawned: the deadline is a timer of the caller's worker). If `aw` completes before it first
/// suspends, its result is returned whatever `d` is (zero, negative, min()). If the time runs
/// out first, `aw` is cancelled at its suspension point (an I/O operation is cancelled and
/// waited for) and corio::timed_out is thrown, naming `d`. Huge or NaN durations saturate.
/// Cancel safety: as cancel-safe as `aw` is; the timer itself holds nothing.
/// Throws corio::usage_error outside a task of a runtime; rethrows what `aw` throws.
template <class Rep, class Period, class A>
task<detail::branch_result_t<A>> timeout(std::chrono::duration<Rep, Period> d, A aw) {
  return detail::timeout_impl(detail::saturating_deadline(now(), d), std::move(aw), "corio::timeout",
                              detail::saturating_duration(d), true);
}

/// Like timeout, with an absolute deadline: `aw` is cancelled and corio::timed_out thrown if
/// it has not finished at `deadline` (one that has passed still lets `aw` run until it first
/// suspends). Cancel safety: as cancel-safe as `aw` is.
template <class A>
task<detail::branch_result_t<A>> timeout_at(clock::time_point deadline, A aw) {
  return detail::timeout_impl(deadline, std::move(aw), "corio::timeout_at", clock::duration::zero(), false);
}

namespace time {
/// Paused time only: moves the clock forward by `d`, fires every timer that became due, then
/// yields so the tasks they woke run before the caller continues. Throws corio::usage_error if
/// time is not paused, std::invalid_argument for a negative d.
CORIO_API task<void> advance(clock::duration d);
/// True if the current runtime's clock is paused.
CORIO_API bool is_paused() noexcept;
}  // namespace time

}  // namespace corio
