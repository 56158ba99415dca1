#pragma once
// What public headers need from the scheduler, and nothing more: its configuration, the two
// hooks a task group and a timer plug into it, and the handful of entry points inline code
// calls (spawn a root frame, the calling thread's scheduler). The scheduler itself (workers,
// run queues, idle set, timer wheel: scheduler.hpp) is included only by the library's .cpp
// files, so a user's file does not compile it (docs/internals.md, "Which file holds what").

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>

#include "../diagnostics.hpp"
#include "export.hpp"
#include "task_header.hpp"
#include "timer_wheel.hpp"

namespace corio::detail {

class scheduler;
class worker;
enum class backend_kind;

struct runtime_config {
  unsigned workers = 0;  ///< 0: one per core
  bool current_thread = false;
  std::string thread_name = "corio-worker";
  std::function<void(std::exception_ptr, std::uint64_t)> on_unhandled_exception;
  bool start_paused = false;
  std::optional<backend_kind> backend;
  // Blocking pool (spawn_blocking, blocking_pool.hpp).
  unsigned max_blocking_threads = 512;
  std::chrono::nanoseconds blocking_keep_alive = std::chrono::seconds(10);
  std::optional<std::chrono::nanoseconds> blocking_shutdown_timeout;  ///< none: wait for running jobs
  // Diagnostics (runtime/diagnostics.hpp).
  std::optional<std::chrono::milliseconds> detect_blocking;  ///< none: CORIO_DETECT_BLOCKING decides; 0: off
  std::function<void(const blocking_report&)> on_blocking;
};

/// Something to run when a task completes, stored in the join slot instead of a waker
/// (task groups use it to learn which child finished, without a task waiting on each one).
struct completion_listener {
  /// Called once, on the completing thread, after the child's frame has finished running (or
  /// been destroyed). `failed`: it finished by throwing. Must not throw.
  virtual void on_complete(task_header* child, bool failed) noexcept = 0;

 protected:
  ~completion_listener() = default;
};

/// A wheel entry with something to do when it fires (wake a task, signal a group). `fire`
/// runs on the thread advancing the wheel, under the wheel's lock.
struct timer_node : timer_entry {
  void (*fire)(timer_node*) noexcept = nullptr;
};

/// Destroys a scheduler (shutting it down first); what corio::runtime owns its scheduler by.
struct scheduler_deleter {
  CORIO_API void operator()(scheduler* s) const noexcept;
};
using scheduler_ptr = std::unique_ptr<scheduler, scheduler_deleter>;
/// Starts a scheduler: its workers, rings and threads (std::system_error if refused).
CORIO_API scheduler_ptr make_scheduler(runtime_config cfg);

/// scheduler::spawn (see scheduler.hpp): takes `root`, queues it, returns its header (carrying
/// the join handle's reference when `result` is given).
CORIO_API task_header* spawn_root(scheduler& s, std::coroutine_handle<> root, const result_ops* result,
                                  completion_listener* listener, std::source_location where);
/// The scheduler of the calling thread (a worker's, or the one inside block_on); throws
/// corio::usage_error naming `what` on any other thread.
CORIO_API scheduler& current_scheduler(const char* what);

}  // namespace corio::detail
