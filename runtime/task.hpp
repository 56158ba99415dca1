#pragma once
// corio::task<T> — the coroutine type of the runtime.
//
// A task is lazy: creating it runs nothing. It starts when it is awaited (`co_await t`, in
// the awaiting task, on the same worker) or handed to `spawn`/`block_on` (as a task of its
// own). Awaiting resumes the awaiter by symmetric transfer when the task finishes, so long
// `co_await` chains use no stack. A task is move-only and owns its frame: destroying an
// unfinished task destroys the frame (its locals are unwound).
//
// T may be void, a value type or a reference. An exception escaping the body is stored and
// rethrown by `co_await`. Frames come from per-thread pooled storage (detail/frame_alloc.hpp).

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "detail/context.hpp"
#include "detail/frame_alloc.hpp"
#include "error.hpp"

namespace corio {

template <class T = void>
class task;

namespace detail {

/// Where a spawned task's outcome waits for its join handle once the frame is gone
/// (task_header.hpp): the exception, or the value (a pointer for a reference, nothing for void).
template <class T>
struct outcome {
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate,
                                    std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>>;
  std::exception_ptr error;
  std::optional<stored> value;

  /// Returns the value or rethrows the exception (taken out, so it is released by the thread
  /// that handles it). Call once.
  T take() {
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
    if constexpr (std::is_reference_v<T>)
      return **value;
    else if constexpr (!std::is_void_v<T>)
      return std::move(*value);
  }
};

struct promise_base {
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
  bool result_taken_ = false;

  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      promise_base& p = h.promise();
      if (p.continuation_) return symmetric_transfer(p.continuation_);
      // Root of a spawned task: back to the worker, which sees done() and completes it.
      this_thread().root_exception = &p.exception_;
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept {
    thread_context& c = this_thread();
    if (c.destroying) {  // a destructor threw while the runtime destroyed this frame
      if (!c.destroy_exception) c.destroy_exception = std::current_exception();
      return;
    }
    exception_ = std::current_exception();
  }

  void check_not_taken() {
    if (result_taken_) throw usage_error("corio::task awaited twice: its result was already taken");
    result_taken_ = true;
  }
};

template <class T>
struct promise final : promise_base {
  std::optional<T> value_;
  task<T> get_return_object() noexcept;
  template <class U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(v));
  }
  T take() {
    check_not_taken();
    if (exception_) std::rethrow_exception(exception_);
    return std::move(*value_);
  }
  /// Moves the finished body's outcome out (a spawned task's completion; task_header.hpp).
  void move_outcome(outcome<T>& o) noexcept {
    if (exception_) {
      o.error = std::move(exception_);
      return;
    }
    try {
      o.value.emplace(std::move(*value_));
    } catch (...) {  // T's move constructor threw: that is the outcome the handle sees
      o.error = std::current_exception();
    }
  }
};

template <class T>
struct promise<T&> final : promise_base {
  T* value_ = nullptr;
  task<T&> get_return_object() noexcept;
  void return_value(T& v) noexcept { value_ = std::addressof(v); }
  T& take() {
    check_not_taken();
    if (exception_) std::rethrow_exception(exception_);
    return *value_;
  }
  void move_outcome(outcome<T&>& o) noexcept {
    if (exception_)
      o.error = std::move(exception_);
    else
      o.value.emplace(value_);
  }
};

template <>
struct promise<void> final : promise_base {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    check_not_taken();
    if (exception_) std::rethrow_exception(exception_);
  }
  void move_outcome(outcome<void>& o) noexcept {
    if (exception_)
      o.error = std::move(exception_);
    else
      o.value.emplace();
  }
};

}  // namespace detail

/// A lazy coroutine producing a `T` (or nothing, or a reference); see the top of this file.
///
/// Run it by awaiting it (`co_await t`: it runs in the awaiting task, which resumes when it
/// finishes, with its value or its exception rethrown) or by handing it to corio::spawn,
/// corio::runtime::block_on or a join helper (it becomes a task of its own).
///
/// **Threads:** move-only, awaited at most once, by one task. The frame runs on whichever
/// worker runs the task that awaits it; it may move between workers at each suspension
/// point. Moving and destroying it are plain object operations for the owning thread.
///
/// **Cancel safety:** dropping an unfinished task (or aborting the task awaiting it) destroys
/// its frame at its current suspension point: its locals are unwound and whatever awaitable
/// it was suspended on is dropped, with that awaitable's own cancel safety.
///
/// Awaiting an empty (default-constructed or moved-from) task throws corio::usage_error;
/// awaiting one twice throws corio::usage_error ("awaited twice").
template <class T>
class [[nodiscard]] task {
 public:
  /// The coroutine promise (internal; named by the compiler).
  using promise_type = detail::promise<T>;
  /// The type `co_await` yields.
  using value_type = T;
  /// The coroutine handle this task owns.
  using handle_type = std::coroutine_handle<promise_type>;

  /// An empty task (valid() is false; awaiting it throws corio::usage_error).
  task() noexcept = default;
  /// Takes ownership of the frame `h` (what the compiler does when the coroutine starts).
  explicit task(handle_type h) noexcept : h_(h) {}
  /// Takes over `o`'s frame; `o` is left empty.
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  /// Destroys this task's frame (if any), then takes over `o`'s; `o` is left empty.
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  /// False for a default-constructed or moved-from task.
  bool valid() const noexcept { return static_cast<bool>(h_); }
  /// valid().
  explicit operator bool() const noexcept { return valid(); }
  /// True once the body has finished (returned or thrown).
  bool done() const noexcept { return h_ && h_.done(); }

  /// Gives up ownership of the frame (used by spawn).
  handle_type release() noexcept { return std::exchange(h_, {}); }

  struct awaiter {
    handle_type h_;
    bool await_ready() const {
      if (!h_) throw usage_error("co_await on an empty corio::task (default-constructed or moved-from)");
      return h_.done();
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      h_.promise().continuation_ = awaiting;
      return detail::symmetric_transfer(h_);
    }
    decltype(auto) await_resume() { return h_.promise().take(); }
  };
  /// Runs the task in the awaiting one and resumes with its result (its exception rethrown).
  /// Throws corio::usage_error if the task is empty or was already awaited. Dropped while the
  /// task runs, the task's frame is destroyed with the awaiting frame (see the class).
  awaiter operator co_await() const& noexcept { return awaiter{h_}; }
  /// As the lvalue overload.
  awaiter operator co_await() const&& noexcept { return awaiter{h_}; }

 private:
  void reset() noexcept {
    if (h_) h_.destroy();
    h_ = {};
  }
  handle_type h_;
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
template <class T>
task<T&> promise<T&>::get_return_object() noexcept {
  return task<T&>(std::coroutine_handle<promise<T&>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

/// `void` as a storable type, for tuples and variants of results.
template <class T>
using non_void_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
}  // namespace detail

}  // namespace corio
