#pragma once
// corio::spawn_blocking — run blocking code on a separate pool of threads and await it.
//
//   corio::task<std::string> load(std::string path) {
//     co_return co_await corio::spawn_blocking(read_whole_file, path);
//   }
//
// Async workers must never block: a blocking call (a file read, a C library, a long
// computation) stalls every task queued behind it. spawn_blocking(f) (or spawn_blocking(f,
// args...), which stores f and its arguments and calls f(args...)) moves f to the runtime's
// blocking pool and returns a blocking_handle at once; `co_await` it for f's result (or f's
// exception). The awaiting task is woken by the pool thread that ran f and resumes on one of
// the runtime's workers.
//
// The pool (one per runtime, started on first use) grows on demand up to
// runtime::builder::max_blocking_threads (default 512); beyond that, jobs wait in a FIFO queue:
// none is dropped. Idle threads exit after thread_keep_alive (default 10 s). If no thread can be
// started and the pool has none, spawn_blocking throws the std::system_error (the job is not
// queued). Runtime shutdown cancels jobs still queued (their handles report corio::cancelled)
// and waits for running ones, up to blocking_shutdown_timeout (default: until they finish).
//
// f is moved into the pool and runs on a plain thread, outside any task: it must not borrow
// from the awaiting frame (capture by value), must not co_await, and sees no current runtime
// (use runtime::spawn with the runtime's reference to start tasks from it).
//
// The handle: awaiting it consumes it (a second await throws corio::usage_error); dropping it
// (or detach()) lets f run unobserved, and an exception f throws then goes to the runtime's
// unhandled-exception hook (with the job's id). abort() cancels a job that has not started (it
// will never run; awaiting reports corio::cancelled) and does nothing once f runs: blocking
// code cannot be interrupted. If the awaiting task is itself aborted, f still runs to
// completion and its result is dropped.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "detail/basic_join_handle.hpp"
#include "detail/blocking_pool.hpp"
#include "detail/context.hpp"
#include "detail/spawn.hpp"
#include "error.hpp"
#include "runtime.hpp"

namespace corio {

namespace detail {

/// A job with the storage for its result.
template <class T>
class blocking_result : public blocking_job {
 public:
  using stored = std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>;

  /// After completion (and check_result): the value.
  T take() {
    if constexpr (std::is_reference_v<T>)
      return static_cast<T>(**value_);
    else
      return std::move(*value_);
  }

 protected:
  std::optional<stored> value_;
};

template <>
class blocking_result<void> : public blocking_job {
 public:
  void take() noexcept {}
};

template <class F>
class blocking_job_of final : public blocking_result<std::invoke_result_t<F&>> {
 public:
  using result_type = std::invoke_result_t<F&>;
  template <class G>
  explicit blocking_job_of(G&& g) : f_(std::in_place, std::forward<G>(g)) {}

 private:
  void invoke() noexcept override {
    try {
      if constexpr (std::is_void_v<result_type>)
        (*f_)();
      else if constexpr (std::is_reference_v<result_type>)
        this->value_.emplace(std::addressof((*f_)()));
      else
        this->value_.emplace((*f_)());
    } catch (...) {
      this->error_ = std::current_exception();
    }
    f_.reset();  // release what the closure holds as soon as it has run
  }
  void discard() noexcept override { f_.reset(); }

  std::optional<F> f_;
};

/// What a blocking_handle<T> joins: a blocking job (basic_join_handle.hpp).
template <class T>
struct blocking_join {
  using pointer = blocking_result<T>*;
  static constexpr const char* name = "corio::blocking_handle";
  static constexpr const char* what = "co_await blocking_handle";
  static bool is_complete(pointer j) noexcept { return j->is_complete(); }
  static bool register_waker(pointer j, task_header* w) noexcept { return j->register_waiter(w); }
  static void unregister_waker(pointer j) noexcept { j->unregister_waiter(); }
  static void abort(pointer j) noexcept { j->abort(); }
  static void release(pointer j) noexcept { j->release_handle(); }
  static std::uint64_t id(pointer j) noexcept { return j->id(); }
  static T take(pointer j) {
    j->check_result();
    return j->take();
  }
};

}  // namespace detail

/// The owner's view of a spawn_blocking job (see above). Move-only; one task (or thread) uses a
/// handle at a time. The same template as join_handle (detail/basic_join_handle.hpp):
///
/// - `blocking_handle()`: an empty handle; moving leaves the source empty; move-assigning or
///   destroying a handle detaches the job it holds (the job still runs; its result is dropped).
/// - `valid()`: false for a default-constructed, moved-from, detached or already awaited handle.
/// - `is_finished()`: true once f has returned or thrown, or the job was cancelled.
/// - `abort()`: cancels the job if it has not started yet; no effect on a running or finished
///   one.
/// - `detach()`: lets the job run unobserved (the same as dropping the handle).
/// - `id()`: the job's id (unique within its runtime's blocking pool), 0 for an empty handle.
/// - `take_result()`: takes the result of a finished job without suspending, consuming the
///   handle (throws as `co_await` does). Precondition: is_finished().
/// - `co_await handle`: suspends the task until the job is done (the pool thread that ran it
///   wakes the task, which resumes on one of the runtime's workers), then gives the result or
///   rethrows the job's exception, consuming the handle; corio::cancelled if the job was
///   aborted or abandoned (runtime shut down) before it ran; corio::usage_error for an empty
///   or already awaited handle. One task awaits a handle, once; awaited inside a task.
///
/// Only take_result and co_await throw.
///
/// **Cancel safety:** awaiting is cancel-safe: dropped at its suspension point, the handle is
/// left as it was and the job keeps running on its thread (a running blocking job cannot be
/// stopped); await the handle again, or drop it to discard the result.
template <class T>
class [[nodiscard]] blocking_handle : public detail::basic_join_handle<T, detail::blocking_join<T>> {
 public:
  /// The job's result type.
  using value_type = T;
  /// An empty handle, or (from a detail::blocking_result<T>*) the one spawn_blocking returns,
  /// taking over the owner's reference to the job.
  using detail::basic_join_handle<T, detail::blocking_join<T>>::basic_join_handle;
};

namespace detail {

template <class F>
auto spawn_blocking_on(scheduler& s, F&& f) {
  using job_t = blocking_job_of<std::decay_t<F>>;
  using T = typename job_t::result_type;
  auto* j = new job_t(std::forward<F>(f));
  try {
    submit_blocking(s, j);
  } catch (...) {
    j->drop_ref();  // both references are still ours
    j->drop_ref();
    throw;
  }
  return blocking_handle<T>(j);
}

}  // namespace detail

/// Runs f on the blocking pool of the calling task's runtime (see above). Throws
/// corio::usage_error outside a runtime (use the overload taking the runtime there), and
/// std::system_error if no thread could be started. Callable from a task on any worker. The
/// returned handle's `co_await` is cancel-safe (see blocking_handle); f itself, once started,
/// always runs to completion.
template <class F>
  requires std::is_invocable_v<std::decay_t<F>&>
auto spawn_blocking(F&& f) {
  return detail::spawn_blocking_on(detail::current_scheduler("corio::spawn_blocking"), std::forward<F>(f));
}

/// Runs f on the blocking pool of `rt`, from any thread (a plain thread, or a task of any
/// runtime). Throws std::system_error if no thread could be started.
template <class F>
  requires std::is_invocable_v<std::decay_t<F>&>
auto spawn_blocking(runtime& rt, F&& f) {
  return detail::spawn_blocking_on(rt.native(), std::forward<F>(f));
}

namespace detail {
/// What spawn_blocking(f, args...) runs: f and its arguments stored by value (as std::thread
/// stores them), called once on the pool thread with the stored objects moved in.
template <class F, class... Args>
struct bound_call {
  F f_;
  std::tuple<Args...> args_;
  std::invoke_result_t<F, Args...> operator()() {
    return std::apply([this](Args&... a) -> std::invoke_result_t<F, Args...> {
      return std::invoke(std::move(f_), std::move(a)...);
    }, args_);
  }
};
}  // namespace detail

/// Runs std::invoke(f, args...) on the blocking pool of the calling task's runtime. f and
/// every argument are copied or moved into the job (decayed, as std::thread does: pass
/// std::ref to share an object, which must then outlive the job) and moved into the call.
///
/// This form needs no lambda: g++-12 destroys a lambda temporary that has captures twice
/// when it is created inside a `co_await` expression (README, "Compiler bugs"), so
/// `co_await spawn_blocking(slow_read, path)` is the safe spelling of
/// `co_await spawn_blocking([path] { return slow_read(path); })`.
/// Throws like spawn_blocking(f).
template <class F, class... Args>
  requires(sizeof...(Args) > 0) && std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto spawn_blocking(F&& f, Args&&... args) {
  return spawn_blocking(detail::bound_call<std::decay_t<F>, std::decay_t<Args>...>{
      std::forward<F>(f), {std::forward<Args>(args)...}});
}
/// spawn_blocking(f, args...) on the blocking pool of `rt`, from any thread.
template <class F, class... Args>
  requires(sizeof...(Args) > 0) && std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto spawn_blocking(runtime& rt, F&& f, Args&&... args) {
  return spawn_blocking(rt, detail::bound_call<std::decay_t<F>, std::decay_t<Args>...>{
      std::forward<F>(f), {std::forward<Args>(args)...}});
}

}  // namespace corio
