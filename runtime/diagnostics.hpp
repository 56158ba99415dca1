#pragma once
// Runtime diagnostics: finding the task that blocks a worker, listing live tasks, and metrics as
// text for Prometheus.
//
//   auto rt = corio::runtime::builder().detect_blocking(100ms).build();   // or CORIO_DETECT_BLOCKING=100
//   corio::task_dump d = rt.dump_tasks();                                 // any thread
//   fmt::print("{}", d.to_string());
//   std::string text = corio::format_prometheus(rt.metrics());
//
// Blocking detection: with a threshold set, a watchdog thread looks at every worker a few
// times per threshold and reports (once per poll) a task that has run longer than the threshold
// without suspending — while it is still running, so a task stuck in a loop or a blocking call
// is named during the hang, with the place it was spawned from. Each poll then costs one read
// of the kernel's coarse clock and a few stores (a few ns); without a threshold nothing is
// measured.

#include <chrono>
#include <cstdint>
#include <functional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "detail/export.hpp"

namespace corio {

struct runtime_metrics;

/// A task that has run longer than the blocking threshold without suspending.
struct CORIO_API blocking_report {
  std::uint64_t task_id = 0;  ///< the task's id (join_handle::id)
  std::source_location spawned_at;          ///< where spawn was called (empty for block_on's task)
  unsigned worker = 0;                      ///< the worker it is blocking
  std::chrono::milliseconds running_for{};  ///< how long it had run when reported (it may still be running)
  std::chrono::milliseconds threshold{};  ///< the runtime's detect_blocking threshold
  /// One line naming the task, its spawn location, the worker and the times.
  std::string to_string() const;
};

/// Receives blocking reports, on the watchdog thread. The default prints to_string() to stderr.
/// It must not wait for the runtime's workers (they may be the ones blocked).
using blocking_hook = std::function<void(const blocking_report&)>;

/// What a live task is doing, as seen by task_dump.
enum class task_status {
  runnable,    ///< queued to run, or running now
  waiting,     ///< suspended; `waiting_on` names the operation
  cancelling,  ///< aborted, waiting for an operation in flight to be cancelled in the kernel
};

/// One live task in a task_dump.
struct task_info {
  std::uint64_t id = 0;  ///< the task's id (join_handle::id)
  std::source_location spawned_at;  ///< empty (line 0) for block_on's task
  task_status status = task_status::runnable;  ///< runnable, waiting or cancelling
  /// For a waiting task, the operation it is suspended in: "corio::sleep", "corio::mutex::lock",
  /// "corio::mpsc::receiver::recv", "corio::tcp_stream::read", "co_await join_handle", ...
  std::string waiting_on;
};

/// A snapshot of a runtime's live tasks (runtime::dump_tasks), oldest first.
struct CORIO_API task_dump {
  std::vector<task_info> tasks;  ///< the live tasks, oldest first
  /// Workers that did not answer in time (busy in one long poll: see detect_blocking), and,
  /// for a current_thread runtime, its worker when no thread is inside block_on; their tasks
  /// are missing from `tasks`.
  std::vector<unsigned> unresponsive_workers;
  /// One line per task ("task 42 waiting on corio::sleep, spawned at src/main.cpp:17 in
  /// serve"), then one per unresponsive worker.
  std::string to_string() const;
};

CORIO_API const char* to_string(task_status s) noexcept;

/// The metrics in the Prometheus text exposition format (version 0.0.4): counters and gauges
/// named `<prefix>_...` with HELP and TYPE lines, per-worker series labelled worker="N".
CORIO_API std::string format_prometheus(const runtime_metrics& m, std::string_view prefix = "corio");

}  // namespace corio
