#pragma once
// corio::join_handle<T> — the owner's view of a spawned task.
//
// `co_await handle` suspends the awaiting task until the spawned one finishes and returns its
// result, rethrows its exception, or throws corio::cancelled if it was aborted (or its runtime
// shut down first). The awaiting task is resumed by the scheduler, on whichever worker picks it
// up, not inline on the thread that finished the spawned task. Awaiting consumes the handle:
// awaiting it again, or awaiting a moved-from handle, throws corio::usage_error.
//
// Dropping a handle detaches the task: it keeps running, its result is discarded, and an
// exception it throws after that goes to the runtime's unhandled-exception hook. `abort()`
// requests cancellation: the task's frame is destroyed at its next suspension point (at once
// if it is suspended now), after any I/O it has in flight has been cancelled in the kernel.
//
// A destructor that throws while an aborted frame is destroyed: the exception goes to the
// runtime's unhandled-exception hook. (Both GCC and Clang stop destroying the frame at that
// point, so its storage and whatever it still held are lost: don't throw from destructors.)

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <utility>

#include "detail/basic_join_handle.hpp"
#include "detail/export.hpp"
#include "detail/task_header.hpp"
#include "error.hpp"
#include "task.hpp"

namespace corio {

namespace detail {

/// The result slot of a task of type T (task_header.hpp): an outcome<T> after the header, over
/// the word that held the root until the task completed.
template <class T>
struct result_slot_of {
  static_assert(alignof(outcome<T>) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ && task_header::header_room % alignof(outcome<T>) == 0,
                "corio::spawn: over-aligned result types are not supported (wrap the value in a std::unique_ptr)");

  static void stash(std::coroutine_handle<> root, void* slot) noexcept {
    auto* o = new (slot) outcome<T>;
    std::coroutine_handle<promise<T>>::from_address(root.address()).promise().move_outcome(*o);
  }
  static std::exception_ptr* error(void* slot) noexcept { return &static_cast<outcome<T>*>(slot)->error; }
  static void destroy(void* slot) noexcept { static_cast<outcome<T>*>(slot)->~outcome(); }

  static constexpr result_ops ops{sizeof(outcome<T>), &stash, &error, &destroy};
};

/// Registers waker `w` to be woken when `t` completes. Returns false (and releases `w`) if `t`
/// has already completed.
CORIO_API bool join_register(task_header* t, task_header* w) noexcept;
/// Takes the registration back when the awaiting task is destroyed while suspended.
CORIO_API void join_unregister(task_header* t) noexcept;
/// The handle goes away: destroys a finished frame nobody will read, drops the reference.
CORIO_API void join_release(task_header* t) noexcept;
CORIO_API bool join_is_complete(const task_header* t) noexcept;
/// Throws corio::cancelled if `t` completed by cancellation (its frame is gone).
CORIO_API void join_check_not_cancelled(const task_header* t);

/// What a join_handle<T> joins: a task header with a result slot (basic_join_handle.hpp).
template <class T>
struct task_join {
  using pointer = task_header*;
  static constexpr const char* name = "corio::join_handle";
  static constexpr const char* what = "co_await join_handle";
  static bool is_complete(task_header* t) noexcept { return join_is_complete(t); }
  static bool register_waker(task_header* t, task_header* w) noexcept { return join_register(t, w); }
  static void unregister_waker(task_header* t) noexcept { join_unregister(t); }
  static void abort(task_header* t) noexcept { abort_task(t); }
  static void release(task_header* t) noexcept { join_release(t); }
  static std::uint64_t id(task_header* t) noexcept { return t->id; }
  static T take(task_header* t) {
    join_check_not_cancelled(t);
    return static_cast<outcome<T>*>(t->result_slot())->take();
  }
};

}  // namespace detail

/// The owner's view of a task started by corio::spawn (see the top of this file).
///
/// Besides `co_await`, a handle has (from its base, the template blocking_handle shares):
/// `valid()` (false once moved from,
/// detached or awaited), `is_finished()` (the task returned, threw or was cancelled),
/// `abort()` (request cancellation: the task's frame is destroyed at its next suspension point,
/// at once if it is suspended now; a no-op on a finished task), `detach()` (the same as
/// dropping the handle) and `id()` (the task's id, unique within its runtime; 0 when empty).
/// None of them throws.
///
/// `co_await handle` waits for the task to finish and resumes with its result, consuming the
/// handle. It rethrows the task's exception; corio::cancelled if the task was aborted or its
/// runtime shut down first; corio::usage_error for an empty or already awaited handle. The
/// awaiting task is resumed by the scheduler on whichever worker picks it up. `take_result()`
/// takes the result of a finished task without suspending (the join helpers use it), throwing
/// as `co_await` does; it consumes the handle. Precondition: is_finished().
///
/// **Threads:** a handle is move-only and belongs to one owner at a time, but that owner may
/// be any thread: a task on any worker, or a plain thread outside the runtime. `abort()`,
/// `is_finished()`, `detach()` and dropping the handle are safe on any thread while the task
/// runs on others (they act on the task's atomic state); `co_await` needs a task on a corio
/// runtime (from a plain thread, `runtime::block_on` a task that awaits it). One handle must not
/// be used by two threads at once.
///
/// **Cancel safety:** awaiting is cancel-safe: dropped at its suspension point (the awaiting
/// task aborted, a lost select, a timeout), the handle is left as it was and the spawned task
/// keeps running; await the handle again later, or drop it to detach the task.
template <class T>
class [[nodiscard]] join_handle : public detail::basic_join_handle<T, detail::task_join<T>> {
 public:
  /// The spawned task's result type.
  using value_type = T;
  using detail::basic_join_handle<T, detail::task_join<T>>::basic_join_handle;

  /// The task's header (internal).
  detail::task_header* native() const noexcept { return this->p_; }
};

}  // namespace corio
