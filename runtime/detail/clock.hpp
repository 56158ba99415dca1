#pragma once
// The runtime's clock: the real steady clock, or paused time (runtime::builder::start_paused),
// which moves only when told to (time::advance) or when every worker is idle (auto-advance),
// and the millisecond ticks the timer wheels count in.
//
// Ticks are milliseconds since the runtime started: deadlines round up, the present rounds
// down, so nothing fires early.
//
// Moving paused time changes no worker's state: the clock moves, the worker that moved it (if
// any) fires its own due timers, and every other worker is unparked to fire its own (a worker
// fires what is due whenever it comes out of its reactor, and on its maintenance passes).
// Details at the top of clock.cpp.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "export.hpp"

namespace corio::detail {

class scheduler;
class worker;

class runtime_clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit runtime_clock(bool paused) noexcept : start_(std::chrono::steady_clock::now()), paused_(paused) {}

  time_point now() const noexcept {
    if (paused()) return start_ + std::chrono::nanoseconds(virtual_ns_.load(std::memory_order_acquire));
    return std::chrono::steady_clock::now();
  }
  bool paused() const noexcept { return paused_; }

  // --- ticks ---
  /// The tick a timer due at `tp` fires at (rounded up).
  std::uint64_t deadline_tick(time_point tp) const noexcept;
  std::uint64_t now_tick() const noexcept { return tick_of(now()); }
  /// The tick of instant `t` (rounded down, as now_tick).
  std::uint64_t tick_of(time_point t) const noexcept;
  time_point tick_time(std::uint64_t tick) const noexcept;

  // --- paused time ---
  /// Moves the clock forward by `d` (saturating at the end of time); the calling worker, if it
  /// is one of `s`, fires its due timers, the other workers are unparked to fire theirs.
  /// Throws usage_error if time is not paused, std::invalid_argument if `d` is negative.
  CORIO_API void advance(scheduler& s, std::chrono::nanoseconds d);
  /// Called by parked worker `self` of `s`: if every worker is idle, jumps to the earliest
  /// armed timer; `self` fires its own due timers, the other workers with due timers are
  /// unparked (counted awake at once, idle::unpark) to fire theirs. Returns nullopt if no
  /// timer of `self` fired; else `self` is counted awake again, and the value says whether it
  /// counts as searching (idle::unpark_self).
  std::optional<bool> auto_advance(scheduler& s, worker& self);

 private:
  /// Under advance_mutex_: sets the paused clock to `ns` since start_ (never backwards).
  void move_to(std::int64_t ns) noexcept;

  const time_point start_;
  const bool paused_;
  std::atomic<std::int64_t> virtual_ns_{0};  // paused time: ns since start_
  std::mutex advance_mutex_;                 // one jump of the paused clock at a time
};

}  // namespace corio::detail
