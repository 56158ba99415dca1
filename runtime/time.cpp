#include "time.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>

#include "detail/worker.hpp"
#include "runtime.hpp"

namespace corio {

clock::time_point now() noexcept {
  detail::scheduler* s = detail::this_thread().sched;
  return s ? s->clock().now() : clock::now();
}

namespace detail {
std::string describe(clock::duration d) {
  using namespace std::chrono;
  const char* sign = d < d.zero() ? "-" : "";
  clock::duration a = d >= d.zero() ? d : d == clock::duration::min() ? clock::duration::max() : -d;
  if (a < milliseconds(1)) return fmt::format("{}{} us", sign, duration_cast<microseconds>(a).count());
  if (a < seconds(10)) return fmt::format("{}{} ms", sign, duration_cast<milliseconds>(a).count());
  return fmt::format("{}{} s", sign, duration_cast<seconds>(a).count());
}

void throw_timed_out(const char* what, const clock::duration* within) {
  if (within) throw timed_out(fmt::format("{}: the operation did not finish within {}", what, describe(*within)));
  throw timed_out(fmt::format("{}: the operation did not finish by its deadline", what));
}
}  // namespace detail

// A sleep is armed on the wheel of the worker that polls it (its own thread, so the wheel's
// owner is awake and will include the deadline in its next park timeout). It fires under that
// wheel's lock, handing its waker to wake(). The destructor disarms under the same lock, so
// after it returns the wheel no longer refers to this object.

sleep_awaitable::~sleep_awaitable() {
  if (armed_on_ && armed_on_->disarm_timer(this)) std::exchange(waker_, nullptr)->drop_ref();
}

bool sleep_awaitable::await_ready() {
  detail::scheduler* s = detail::this_thread().sched;
  if (!s) throw usage_error("corio::sleep: must be awaited inside a task running on a corio runtime");
  due_ = deadline_ <= s->clock().now();
  return due_ && detail::coop_consume();
}

std::coroutine_handle<> sleep_awaitable::await_suspend(std::coroutine_handle<> h) {
  detail::thread_context& c = detail::this_thread();
  if (!c.current_worker) throw usage_error("corio::sleep: must be awaited inside a task running on a corio runtime");
  // Due at await_ready, but out of budget. (A deadline reached since then is inserted already
  // due and fires at the worker's next timer pass: no second clock read here.)
  if (due_) return detail::yield_to_scheduler(h, "corio::sleep");
  waker_ = detail::make_waker(h, "corio::sleep");
  static_cast<detail::timer_node&>(*this).deadline = c.sched->clock().deadline_tick(deadline_);
  this->fire = &on_fire;
  armed_on_ = c.current_worker;
  armed_on_->arm_timer(this);
  return std::noop_coroutine();
}

void sleep_awaitable::on_fire(detail::timer_node* n) noexcept {
  auto* self = static_cast<sleep_awaitable*>(n);
  detail::wake(std::exchange(self->waker_, nullptr));
}

interval::interval(clock::time_point start, clock::duration period, missed_tick_behavior b)
    : next_(start), period_(period), behavior_(b) {
  if (period <= clock::duration::zero())
    throw std::invalid_argument(fmt::format("corio::interval: period must be positive, got {} ns", period.count()));
}

task<clock::time_point> interval::tick() {
  co_await sleep_until(next_);
  clock::time_point scheduled = next_;
  clock::time_point t = now();
  // Timers fire up to a millisecond after their deadline (and a busy worker adds a little):
  // a tick no later than interval_tolerance is on time and keeps the schedule in every mode.
  if (t <= detail::saturating_deadline(scheduled, interval_tolerance)) {
    next_ = detail::saturating_deadline(scheduled, period_);
    co_return scheduled;
  }
  switch (behavior_) {
    case missed_tick_behavior::burst:
      next_ = detail::saturating_deadline(scheduled, period_);
      break;
    case missed_tick_behavior::delay:
      next_ = detail::saturating_deadline(t, period_);
      break;
    case missed_tick_behavior::skip: {
      clock::time_point n = detail::saturating_deadline(scheduled, period_);
      if (n <= t && n != clock::time_point::max()) {
        // t - scheduled may not fit the clock's signed rep (scheduled near time_point::min()):
        // t >= scheduled, so the difference is taken modulo 2^64 as an unsigned count.
        auto lag = static_cast<std::uint64_t>(t.time_since_epoch().count()) -
                   static_cast<std::uint64_t>(scheduled.time_since_epoch().count());
        auto into = static_cast<clock::rep>(lag % static_cast<std::uint64_t>(period_.count()));
        n = detail::saturating_deadline(t, period_ - clock::duration(into));
      }
      next_ = n;
      break;
    }
  }
  co_return scheduled;
}

namespace time {

task<void> advance(clock::duration d) {
  detail::scheduler& s = detail::current_scheduler("corio::time::advance");
  s.clock().advance(s, d);
  co_await yield_now();
}

bool is_paused() noexcept {
  detail::scheduler* s = detail::this_thread().sched;
  return s && s->clock().paused();
}

}  // namespace time
}  // namespace corio
