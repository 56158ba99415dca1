#pragma once
// Per-thread runtime context: which runtime and worker this thread belongs to, the task being
// polled, its cooperative budget and its symmetric-transfer count.
//
// Always read through `this_thread()`, a non-inlined function: a coroutine may suspend on one
// worker and resume on another, and a compiler may otherwise keep the address of a
// thread_local across the suspension point (clang does), reading the old thread's copy.

#include <coroutine>
#include <cstdint>
#include <exception>

#include "export.hpp"
#include "task_header.hpp"

namespace corio::detail {

class scheduler;
class worker;
class reactor;

struct thread_context {
  scheduler* sched = nullptr;  ///< runtime of this thread (worker or block_on caller)
  worker* current_worker = nullptr;
  reactor* io = nullptr;  ///< current_worker's reactor (tasks start I/O on it)
  task_header* task = nullptr;  ///< task being polled, null between polls
  std::uint32_t transfers = 0;  ///< symmetric transfers in this poll
  std::int32_t budget = 0;      ///< cooperative budget left in this poll
  bool yield_requested = false; ///< the task asked to be re-queued behind others
  bool in_fiber = false;        ///< set while a fiber runs (see fibers)
  /// Set by a spawned root's final_suspend: where its exception (if any) is stored.
  std::exception_ptr* root_exception = nullptr;
  /// Set while the runtime destroys a frame: both compilers route an exception thrown by a
  /// destructor during coroutine destruction to promise.unhandled_exception(), which then
  /// parks it here for the runtime to report instead of storing it in a dying promise.
  bool destroying = false;
  std::exception_ptr destroy_exception;
};

CORIO_API [[gnu::noinline]] thread_context& this_thread() noexcept;

/// Operations a task may complete without suspending before it is made to yield.
inline constexpr std::int32_t coop_budget = 128;
/// Symmetric transfers in one poll before the chain is bounced through the run queue, which
/// bounds stack use where the compiler does not turn the transfer into a tail call (-O0).
inline constexpr std::uint32_t max_transfers_per_poll = 256;

/// The task being polled on this thread; throws usage_error naming `what` when there is none
/// (a corio awaitable awaited outside a task of a corio runtime).
task_header* current_task_or_throw(const char* what);

/// Registers the current task as suspended at `h` and returns a waker (one new reference).
CORIO_API task_header* make_waker(std::coroutine_handle<> h, const char* what);

/// Consumes one unit of cooperative budget; false means the caller should suspend and yield
/// (`yield_to_scheduler`) even though its operation could complete at once. Always true
/// outside a task.
CORIO_API bool coop_consume() noexcept;

/// For await_suspend: re-queue the current task behind the others and resume at `h` later.
/// Returns the handle to transfer to (always noop_coroutine()).
CORIO_API std::coroutine_handle<> yield_to_scheduler(std::coroutine_handle<> h, const char* what);

/// The tail of an await_suspend whose operation completed without the task having to wait:
/// false (resume `h` at once) while the task has cooperative budget left (coop_consume), else
/// the task is re-queued to resume at `h` later (yield_to_scheduler) and the result is true.
inline bool resume_or_yield(std::coroutine_handle<> h, const char* what) {
  if (coop_consume()) return false;
  yield_to_scheduler(h, what);
  return true;
}

/// The same tail for an await_suspend that returns the handle to transfer to: `h` while budget
/// is left, else the task is re-queued to resume at `h` and noop_coroutine() is returned.
inline std::coroutine_handle<> transfer_or_yield(std::coroutine_handle<> h, const char* what) {
  if (coop_consume()) return h;
  return yield_to_scheduler(h, what);
}

/// Transfer to `to` unless this poll has done too many transfers, in which case the current
/// task is re-queued to continue at `to` from a fresh stack.
CORIO_API std::coroutine_handle<> symmetric_transfer(std::coroutine_handle<> to) noexcept;

}  // namespace corio::detail
