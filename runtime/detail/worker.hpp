#pragma once
// A worker of the scheduler (scheduler.hpp): one thread's run queue, LIFO slot, reactor and
// timer wheel, and the loop that polls tasks from them. The loop, and the order in which it
// looks for work, is described at the top of worker.cpp.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <utility>

#include "local_queue.hpp"
#include "reactor.hpp"
#include "scheduler.hpp"
#include "task_header.hpp"
#include "timer_wheel.hpp"
#include "../../sync/detail/spin_lock.hpp"

namespace corio::detail {

class worker {
 public:
  worker(scheduler& s, std::uint32_t index);
  ~worker();

  /// The worker loop; returns when `done()` is true or the runtime shuts down.
  void run(const std::atomic<bool>& done);

  void unpark() noexcept;
  std::uint32_t index() const noexcept { return index_; }
  /// This worker's reactor; tasks start I/O on the reactor of the worker polling them.
  reactor& io() noexcept { return *reactor_; }

  // --- timers (the wheel is behind wheel_mutex_) ---
  /// On this worker's thread (a task it polls arms its timers here).
  void arm_timer(timer_node* n);
  /// Any thread. Returns true if `n` was still armed (it will not fire now); false if it
  /// already fired.
  bool disarm_timer(timer_node* n) noexcept;
  /// Any thread (the paused clock's auto-advance): the exact earliest tick at which
  /// fire_timers would find work (takes the lock).
  std::optional<std::uint64_t> next_timer_tick();
  /// On this worker's thread only: fires every timer due at `now_tick`; returns how many fired.
  /// Other threads that move the paused clock unpark the worker instead (clock.cpp).
  std::size_t fire_timers(std::uint64_t now_tick);

  // --- scheduling, on this worker's own thread ---
  void push_local(task_header* t, bool lifo);

  /// What the worker is polling now, for the blocking watchdog (diagnostics.cpp): a sequence
  /// number that is odd during a poll, and the task's id, spawn location and start time,
  /// written before the sequence turns odd.
  struct poll_probe {
    std::atomic<std::uint64_t> seq{0};
    std::atomic<std::uint64_t> task_id{0};
    std::atomic<std::source_location> where{};
    std::atomic<std::int64_t> started_ms{0};  ///< coarse monotonic clock
  };
  poll_probe probe;

  struct counters {
    std::atomic<std::uint64_t> polls{0}, steals{0}, parks{0}, spawned{0}, completed{0};
    std::atomic<std::uint64_t> fiber_resumes{0}, fiber_busy_ns{0}, fiber_long_resumes{0};  // runtime/fiber.cpp
    static void bump(std::atomic<std::uint64_t>& c) noexcept { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  };
  counters stats;
  /// Timers linked in the wheel. Changed only under wheel_mutex_ (a load and a store: the lock
  /// orders writers, so no read-modify-write is needed); read relaxed without it as a hint.
  std::atomic<std::size_t> timers_armed{0};

 private:
  friend class scheduler;
  friend class runtime_services;  // the watchdog turns the probe on, a dump asks for tasks
  task_header* next_task();
  task_header* steal_work();
  task_header* take_injected();
  void stop_searching();
  void park(const std::atomic<bool>& done);
  void park_after_hook(task_header* t);
  /// Polls the reactor without waiting and fires due timers; true if anything happened.
  /// `now` receives the time read for the timers (unchanged when none is armed).
  bool maintenance(std::optional<std::chrono::steady_clock::time_point>& now);
  /// The worker's own timer paths: a lower bound of its earliest deadline, read without the
  /// lock (nullopt: no timer armed), and fire_timers skipping the lock when nothing is due.
  std::optional<std::uint64_t> own_timer_hint() const noexcept;
  std::size_t fire_own_timers(std::uint64_t now_tick);
  void poll(task_header* t);
  void cancel(task_header* t);
  void release_running(task_header* t, bool yielded);
  bool has_local_work() const noexcept { return lifo_ != nullptr || !queue_.empty(); }
  void probe_begin(const task_header* t) noexcept;
  void probe_end() noexcept;
  /// Adds this worker's live tasks to a pending dump (diagnostics.cpp).
  void answer_dump();

  scheduler& sched_;
  const std::uint32_t index_;
  // 1,024 tasks (Tokio's holds 256): up to that many runnable tasks per worker never spill
  // into the injection queue and its mutex. On 2 cores, 9 alternating runs: yield_many (1k
  // tasks) 0.034 -> 0.009 s, ping_pong (2k tasks) 0.127 -> 0.071 s, spawn_many 0.156 ->
  // 0.142 s; 4,096 gained nothing more, and 8k yielding tasks run as fast as with 256.
  local_queue<1024> queue_;
  task_header* lifo_ = nullptr;
  std::uint32_t lifo_streak_ = 0;
  std::uint32_t tick_ = 0;
  std::uint64_t rng_;
  std::uint64_t clock_ = 0;  // Lamport clock for task ids
  task_registry owned_;
  bool searching_ = false;
  bool attached_ = false;
  bool probing_ = false;  ///< blocking detection is on
  std::atomic<bool> dump_wanted_{false};
  std::unique_ptr<reactor> reactor_;
  // A spin lock: arm and disarm (once each per sleep or timeout) hold it for a few pointer
  // updates; only a firing pass holds it longer (it wakes the timers' tasks).
  spin_lock wheel_mutex_;
  timer_wheel wheel_;
  void bump_armed(std::ptrdiff_t by) noexcept {  // under wheel_mutex_
    timers_armed.store(timers_armed.load(std::memory_order_relaxed) + static_cast<std::size_t>(by),
                       std::memory_order_relaxed);
  }
  // A lower bound of the earliest armed deadline (a tick; no_due when the wheel was found
  // empty). arm_timer lowers it and fire_timers sets it exactly, both under wheel_mutex_; a
  // disarm leaves it (a stale low hint costs one early look at the wheel). Only this worker
  // arms its timers, so its relaxed reads see its own arms: the owner's park path and timer
  // pass skip the lock, and the wheel, while nothing can be due (own_timer_hint).
  static constexpr std::uint64_t no_due = ~std::uint64_t{0};
  std::atomic<std::uint64_t> next_due_{no_due};
};

// Inline: every spawn and wake from a worker goes through these two (scheduler.cpp queues, the
// loop in worker.cpp re-queues), and they are a few instructions each.

inline void worker::push_local(task_header* t, bool lifo) {
  if (lifo) {
    task_header* prev = std::exchange(lifo_, t);
    if (!prev) return;  // the slot was free: this worker runs it next, nothing to steal
    t = prev;
  }
  queue_.push_back(t, [this](task_header* const* ts, std::size_t n) { sched_.inject_.push(ts, n); });
  sched_.notify_parked();
}

inline void scheduler::notify_parked() {
  if (auto w = idle_.worker_to_notify()) workers_[*w]->unpark();
}

}  // namespace corio::detail
