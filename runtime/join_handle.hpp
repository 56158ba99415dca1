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

#include "detail/context.hpp"
#include "detail/export.hpp"
#include "detail/task_header.hpp"
#include "error.hpp"
#include "task.hpp"

namespace corio {

namespace detail {

/// The result slot of a task of type T (task_header.hpp): an outcome<T> after the header.
template <class T>
struct result_slot_of {
  static_assert(alignof(outcome<T>) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__,
                "corio::spawn: over-aligned result types are not supported (wrap the value in a std::unique_ptr)");
  static constexpr std::size_t offset = (sizeof(task_header) + alignof(outcome<T>) - 1) / alignof(outcome<T>) * alignof(outcome<T>);

  static void stash(std::coroutine_handle<> root, void* slot) noexcept {
    auto* o = new (slot) outcome<T>;
    std::coroutine_handle<promise<T>>::from_address(root.address()).promise().move_outcome(*o);
  }
  static std::exception_ptr* error(void* slot) noexcept { return &static_cast<outcome<T>*>(slot)->error; }
  static void destroy(void* slot) noexcept { static_cast<outcome<T>*>(slot)->~outcome(); }

  static constexpr result_ops ops{offset + sizeof(outcome<T>), offset, &stash, &error, &destroy};
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

class join_handle_base {
 public:
  join_handle_base() noexcept = default;
  explicit join_handle_base(task_header* t) noexcept : t_(t) {}
  join_handle_base(join_handle_base&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  join_handle_base& operator=(join_handle_base&& o) noexcept {
    if (this != &o) {
      detach();
      t_ = std::exchange(o.t_, nullptr);
    }
    return *this;
  }
  ~join_handle_base() { detach(); }

  /// False for a default-constructed, moved-from, detached or already awaited handle.
  bool valid() const noexcept { return t_ != nullptr; }
  /// True once the task has finished (returned, thrown, or been cancelled).
  bool is_finished() const noexcept { return t_ && join_is_complete(t_); }
  /// Requests cancellation (see above); a no-op on a finished task or an empty handle.
  void abort() noexcept {
    if (t_) abort_task(t_);
  }
  /// Lets the task run on unobserved (the same as dropping the handle).
  void detach() noexcept {
    if (t_) join_release(std::exchange(t_, nullptr));
  }
  /// The task's id (unique within its runtime), 0 for an empty handle.
  std::uint64_t id() const noexcept { return t_ ? t_->id : 0; }

  task_header* native() const noexcept { return t_; }

 protected:
  task_header* t_ = nullptr;
};

}  // namespace detail

/// The owner's view of a task started by corio::spawn (see the top of this file).
///
/// Besides `co_await`, a handle has (from its base class): `valid()` (false once moved from,
/// detached or awaited), `is_finished()` (the task returned, threw or was cancelled),
/// `abort()` (request cancellation: the task's frame is destroyed at its next suspension point,
/// at once if it is suspended now; a no-op on a finished task), `detach()` (the same as
/// dropping the handle) and `id()` (the task's id, unique within its runtime; 0 when empty).
/// None of them throws.
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
class [[nodiscard]] join_handle : public detail::join_handle_base {
 public:
  /// The spawned task's result type.
  using value_type = T;
  using join_handle_base::join_handle_base;

  /// Takes the result of a finished task without suspending (used by the join helpers).
  /// Consumes the handle. Precondition: is_finished().
  T take_result() {
    if (!t_) throw usage_error("corio::join_handle: result taken from an empty handle (moved-from or already awaited)");
    struct release {
      join_handle* h;
      ~release() { h->detach(); }
    } guard{this};
    detail::join_check_not_cancelled(t_);
    return static_cast<detail::outcome<T>*>(t_->result_slot())->take();
  }

  struct [[nodiscard]] awaiter {
    join_handle& h_;
    bool registered_ = false;

    bool await_ready() const {
      if (!h_.t_) throw usage_error("co_await on an empty corio::join_handle (moved-from, detached or already awaited)");
      return detail::join_is_complete(h_.t_) && detail::coop_consume();
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) {
      if (detail::join_is_complete(h_.t_)) return detail::yield_to_scheduler(c, "co_await join_handle");
      detail::task_header* w = detail::make_waker(c, "co_await join_handle");
      if (detail::join_register(h_.t_, w)) {
        registered_ = true;
        return std::noop_coroutine();
      }
      return c;  // finished meanwhile
    }
    T await_resume() {
      registered_ = false;
      return h_.take_result();
    }
    ~awaiter() {
      if (registered_) detail::join_unregister(h_.t_);
    }
  };
  /// Waits for the task to finish and resumes with its result, consuming the handle. Rethrows
  /// the task's exception; corio::cancelled if it was aborted or its runtime shut down first;
  /// corio::usage_error for an empty or already awaited handle. The awaiting task is resumed by
  /// the scheduler on whichever worker picks it up. Cancel-safe (see the class).
  awaiter operator co_await() & noexcept { return awaiter{*this}; }
  /// As the lvalue overload.
  awaiter operator co_await() && noexcept { return awaiter{*this}; }
};

}  // namespace corio
