#pragma once
// What a runtime runs beside its scheduler: the blocking pool (spawn_blocking), the blocking
// watchdog and task dumps. The runtime owns them (runtime.cpp holds them with the scheduler in
// one object, destroyed after the scheduler's shutdown); the scheduler reaches them through a
// reference, to start the watchdog once its workers exist and to stop both threads and pools
// at their steps of its shutdown (scheduler.cpp). Definitions: the pool's in blocking_pool.cpp,
// the watchdog's and the dumps' in diagnostics.cpp.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>

#include "../diagnostics.hpp"
#include "export.hpp"

namespace corio::detail {

class scheduler;
class worker;
class blocking_pool;
struct blocking_pool_deleter {
  void operator()(blocking_pool* p) const noexcept;
};

class runtime_services {
 public:
  runtime_services() = default;
  runtime_services(const runtime_services&) = delete;
  runtime_services& operator=(const runtime_services&) = delete;
  ~runtime_services();  // after stop_watchdog and shutdown_blocking (the scheduler's shutdown)

  // --- the blocking pool (blocking_pool.cpp) ---
  /// The runtime's blocking pool, configured from `s` and started on first use (after
  /// shutdown_blocking: a shut-down pool, which cancels what is submitted).
  CORIO_API blocking_pool& blocking(const scheduler& s);
  /// Cancels queued blocking jobs and waits for running ones (up to the configured timeout).
  void shutdown_blocking() noexcept;
  std::size_t blocking_threads() const noexcept;

  // --- diagnostics (diagnostics.cpp) ---
  /// Starts the blocking watchdog if `s`'s configuration (or CORIO_DETECT_BLOCKING) asks for
  /// it, and turns on the workers' poll probes; call before the workers run. Throws
  /// std::invalid_argument for a malformed CORIO_DETECT_BLOCKING.
  void start_watchdog(scheduler& s);
  void stop_watchdog() noexcept;
  /// Live tasks of every worker of `s`; waits up to `wait` for busy workers.
  CORIO_API task_dump dump_tasks(scheduler& s, std::chrono::milliseconds wait);
  struct dump_state;
  /// The dump being answered, if any: a worker adds its live tasks to it between two polls
  /// (worker::answer_dump).
  std::shared_ptr<dump_state> current_dump();

 private:
  void watch_for_blocking(scheduler& s);

  // The blocking pool: created under blocking_mutex_, read through blocking_ptr_.
  std::mutex blocking_mutex_;
  std::unique_ptr<blocking_pool, blocking_pool_deleter> blocking_;
  std::atomic<blocking_pool*> blocking_ptr_{nullptr};
  bool blocking_closed_ = false;  // shutdown_blocking() ran; guarded by blocking_mutex_

  // The blocking watchdog.
  std::chrono::milliseconds blocking_threshold_{0};
  std::thread watchdog_;
  std::mutex watchdog_mutex_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;  // guarded by watchdog_mutex_

  // The dump being answered.
  std::mutex dump_call_mutex_;  // one dump at a time
  std::mutex dump_mutex_;       // guards dump_
  std::shared_ptr<dump_state> dump_;
};

}  // namespace corio::detail
