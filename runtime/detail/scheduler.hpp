#pragma once
// The multi-threaded work-stealing scheduler behind corio::runtime: spawning, waking,
// completion and shutdown. Its parts each have a file: a worker and its loop (worker.hpp), the
// idle set (idle.hpp), the clock (clock.hpp); the blocking pool, the watchdog and the dumps
// are the runtime's (services.hpp). Protocol notes are at the top of scheduler.cpp; the task
// state machine is in task_header.hpp.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../diagnostics.hpp"
#include "clock.hpp"
#include "export.hpp"
#include "idle.hpp"
#include "inject_queue.hpp"
#include "reactor.hpp"
#include "services.hpp"
#include "spawn.hpp"
#include "task_header.hpp"
#include "task_registry.hpp"

namespace corio {
struct runtime_metrics;
}

namespace corio::detail {

class scheduler;
class worker;

/// Destroys a task's root frame; an exception a destructor throws on the way is reported to the
/// runtime's unhandled-exception hook as the task's (see thread_context::destroying).
void destroy_frame(scheduler& s, std::coroutine_handle<> root, std::uint64_t id) noexcept;

class scheduler {
 public:
  /// `services`: the runtime's, which outlive the scheduler (runtime.cpp).
  CORIO_API scheduler(runtime_config cfg, runtime_services& services);
  CORIO_API ~scheduler();

  // --- spawning and waking ---
  /// Takes ownership of `root` (a not-yet-started coroutine) and queues it. With `result` (the
  /// ops of the root's result type: result_slot_of<T>::ops), the task gets a result slot and a
  /// join handle: the returned header carries the handle's reference. Without, the result is
  /// only for identification and may be null. After shutdown the frame is destroyed at once and
  /// the header comes back complete and cancelled.
  /// A `listener` (requires a handle) is registered in the join slot before the task can run,
  /// and is called exactly once, even when the runtime is already shut down. `where`: the
  /// caller's spawn location for diagnostics (default: that of the spawning task, if any).
  CORIO_API task_header* spawn(std::coroutine_handle<> root, const result_ops* result, completion_listener* listener = nullptr,
                     std::source_location where = {});
  /// Queues a task that just became notified (wake/abort), or is queued by its owner (spawn,
  /// yield). `yield`: behind the others, never in the LIFO slot.
  void schedule(task_header* t, bool yield);
  void notify_parked();  ///< defined in worker.hpp

  // --- completion (called by workers, and by shutdown for tasks it destroys) ---
  void complete(task_header* t, std::exception_ptr* exc);
  void finish_cancelled(task_header* t);
  void report_unhandled(std::exception_ptr e, std::uint64_t id) noexcept;

  // --- running ---
  /// current_thread flavour: runs the single worker on the calling thread until done().
  CORIO_API void run_current_thread(const std::atomic<bool>& done);
  CORIO_API void shutdown();
  bool is_shutdown() const noexcept { return shutdown_.load(std::memory_order_acquire); }

  // --- time (clock.hpp) ---
  runtime_clock& clock() noexcept { return clock_; }
  const runtime_clock& clock() const noexcept { return clock_; }

  CORIO_API void fill_metrics(runtime_metrics& m) const;
  /// Fibers that got a stack / that finished with it (counted by runtime/fiber.cpp).
  std::atomic<std::uint64_t> fibers_started{0}, fibers_finished{0};

  const runtime_config& config() const noexcept { return cfg_; }
  std::uint32_t num_workers() const noexcept { return static_cast<std::uint32_t>(workers_.size()); }
  worker& worker_at(std::uint32_t i) noexcept { return *workers_[i]; }
  inject_queue& injected() noexcept { return inject_; }
  idle& idle_state() noexcept { return idle_; }
  backend_kind backend() const noexcept { return backend_; }
  /// The runtime's blocking pool, watchdog and dumps (services.hpp).
  runtime_services& services() noexcept { return services_; }

 private:
  friend class worker;
  friend class runtime_services;  // a dump lists the tasks spawned from outside too
  void destroy_remaining();
  void register_live();
  void unregister_live() noexcept;
  void count_completed() noexcept;
  std::uint64_t next_id(worker* w) noexcept;

  runtime_config cfg_;
  runtime_services& services_;
  backend_kind backend_;
  runtime_clock clock_;
  std::vector<std::unique_ptr<worker>> workers_;
  inject_queue inject_;
  idle idle_;
  std::vector<std::thread> threads_;
  std::atomic<bool> shutdown_{false};
  std::atomic<bool> closed_{false};  // no more pushes or registrations: shutdown is tearing down
  std::atomic<bool> never_done_{false};
  std::atomic<std::uint64_t> spawned_outside_{0}, completed_outside_{0};

  // Tasks spawned from outside the workers (the workers keep their own, see worker::owned_).
  std::mutex foreign_mutex_;
  task_registry foreign_owned_;
  std::atomic<std::uint64_t> foreign_clock_{1};
  std::mutex shutdown_mutex_;
};

}  // namespace corio::detail
