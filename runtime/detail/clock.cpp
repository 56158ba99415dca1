// The runtime's clock (clock.hpp).
//
// Paused time moves in two ways, both under advance_mutex_ (one jump at a time):
//  - time::advance(d), from a task: the clock moves; the caller's own worker fires its due
//    timers at once (their tasks run before the caller resumes, as with a real sleep that
//    ended); every other worker is unparked and fires its own when it comes out of its
//    reactor.
//  - auto-advance, from a parked worker while every worker is idle and the injection queue is
//    empty: the clock jumps to the earliest armed timer of any worker (reading the wheels under
//    their locks changes nothing). The jumping worker fires its own due timers and counts
//    itself awake before letting go of the lock; each other worker with a due timer is taken
//    off the sleeper list and counted awake (idle::unpark) before it is unparked. So the
//    unparked count is not 0 again until the tasks those timers woke have run and their
//    workers parked again, and no second jump overtakes them.
// A worker's wheel, its timer hint and its `searching` flag are changed by that worker only.

#include "clock.hpp"

#include <algorithm>
#include <stdexcept>

#include "../error.hpp"
#include "context.hpp"
#include "worker.hpp"

namespace corio::detail {

std::uint64_t runtime_clock::tick_of(time_point t) const noexcept {
  // The end of time (reachable only by the paused clock, which saturates there) is at or past
  // every deadline: its tick is deadline_tick(max), rounded up like deadlines are, so a sleep
  // until time_point::max() fires there instead of staying one tick ahead forever (the
  // auto-advance loop would spin on it).
  if (t == time_point::max()) return deadline_tick(t);
  auto d = t - start_;
  if (d.count() <= 0) return 0;
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::uint64_t runtime_clock::deadline_tick(time_point tp) const noexcept {
  if (tp <= start_) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp - start_).count();  // tp > start_: no overflow
  std::uint64_t u = static_cast<std::uint64_t>(ns);
  return u / 1'000'000 + (u % 1'000'000 != 0);
}

runtime_clock::time_point runtime_clock::tick_time(std::uint64_t tick) const noexcept {
  using namespace std::chrono;
  auto max_ms = duration_cast<milliseconds>(time_point::max() - start_).count();
  if (tick >= static_cast<std::uint64_t>(max_ms)) return time_point::max();
  return start_ + milliseconds(tick);
}

void runtime_clock::move_to(std::int64_t ns) noexcept {
  if (ns > virtual_ns_.load(std::memory_order_relaxed)) virtual_ns_.store(ns, std::memory_order_release);
}

void runtime_clock::advance(scheduler& s, std::chrono::nanoseconds d) {
  if (!paused()) throw usage_error("corio::time::advance: time is not paused (build the runtime with start_paused)");
  if (d.count() < 0) throw std::invalid_argument("corio::time::advance: negative duration");
  thread_context& c = this_thread();
  worker* self = c.sched == &s ? c.current_worker : nullptr;
  std::lock_guard lock(advance_mutex_);
  // Saturates at the end of time (now() == time_point::max()), where auto-advance also stops.
  std::int64_t cur = virtual_ns_.load(std::memory_order_relaxed);
  std::int64_t limit = (time_point::max() - start_).count();
  move_to(cur + std::min<std::int64_t>(d.count(), std::max<std::int64_t>(0, limit - cur)));
  if (self) self->fire_timers(now_tick());
  for (std::uint32_t i = 0; i < s.num_workers(); ++i)
    if (worker& w = s.worker_at(i); &w != self) w.unpark();
}

std::optional<bool> runtime_clock::auto_advance(scheduler& s, worker& self) {
  std::lock_guard lock(advance_mutex_);
  idle& id = s.idle_state();
  if (id.num_unparked() != 0 || !s.injected().empty()) return std::nullopt;
  for (;;) {
    std::optional<std::uint64_t> next;
    for (std::uint32_t i = 0; i < s.num_workers(); ++i)
      if (auto t = s.worker_at(i).next_timer_tick()) next = next ? std::min(*next, *t) : *t;
    if (!next) return std::nullopt;
    move_to(std::chrono::duration_cast<std::chrono::nanoseconds>(tick_time(*next) - start_).count());
    const std::uint64_t now = now_tick();
    bool woke_other = false;
    for (std::uint32_t i = 0; i < s.num_workers(); ++i) {
      worker& w = s.worker_at(i);
      if (&w == &self) continue;
      if (auto t = w.next_timer_tick(); t && *t <= now) {
        id.unpark(i);  // false: it is awake already, and fires them on its next park at the latest
        w.unpark();
        woke_other = true;
      }
    }
    if (self.fire_timers(now) != 0) return id.unpark_self(self.index());
    if (woke_other) return std::nullopt;
    // The earliest timer went (disarmed) between the look and the firing: look again.
  }
}

}  // namespace corio::detail
