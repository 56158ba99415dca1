#pragma once
// How a fiber runs on the runtime (the public side is runtime/fiber.hpp).
//
// A fiber is an ordinary corio task, its *driver* (`fiber_driver` below), that owns a stack
// (`fiber_context`) and hands the fiber's waits to the scheduler:
//
//   driver task (coroutine, worker stack)          fiber (its own stack)
//   ------------------------------------           ---------------------
//   start(): map the stack
//   step(): switch in ------------------------->   runs the callable ... corio::await(a):
//                                                    a.await_ready()? then no switch at all
//                                                    else: request{a} -> wait_for(request)
//           <------------------------------------   switch out
//   co_await request_awaiter{request}
//     (await_suspend(driver handle) and
//      await_resume() of `a`, on the driver;
//      the task sleeps like any other)
//   step(): switch in ------------------------->   wait_for returns the result / rethrows
//   ...                                            ... the callable returns or throws
//           <------------------------------------   (entry stores the result or exception)
//   co_return the result / rethrow
//
// So every awaitable of the runtime works inside a fiber unchanged, and a fiber is scheduled,
// woken, stolen and counted exactly like a task. Both sides of a wait touch the awaiter object
// (which lives on the fiber's stack), one after the other: the fiber before it switches out,
// the driver while the fiber is switched out, the fiber again after the driver switched back.
//
// Cancellation: when the driver's frame is destroyed while the fiber waits (abort, shutdown),
// ~fiber_body sets `cancelled_` and switches in once more; wait_for then throws
// corio::fiber_unwinding, which unwinds the fiber's stack (running its destructors, which
// unlink the awaiter from whatever it waited on) up to the entry, which swallows it. Every
// later corio::await in that fiber throws it again, so the fiber cannot wait any more and
// runs to its end. Only then does the frame (with the callable) go away.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "../task.hpp"
#include "export.hpp"
#include "fiber_context.hpp"

namespace corio::detail {

class scheduler;

/// Holds what a callable or an await_resume returned: a value, a reference, or nothing.
template <class T>
struct result_slot {
  std::optional<T> value;
  template <class Fn>
  void set_from(Fn&& fn) {
    value.emplace(std::forward<Fn>(fn)());
  }
  T take() { return std::move(*value); }
};
template <class T>
struct result_slot<T&> {
  T* ptr = nullptr;
  template <class Fn>
  void set_from(Fn&& fn) {
    ptr = std::addressof(std::forward<Fn>(fn)());
  }
  T& take() { return *ptr; }
};
template <class T>
struct result_slot<T&&> {
  T* ptr = nullptr;
  template <class Fn>
  void set_from(Fn&& fn) {
    T&& r = std::forward<Fn>(fn)();
    ptr = std::addressof(r);
  }
  T&& take() { return std::move(*ptr); }
};
template <>
struct result_slot<void> {
  template <class Fn>
  void set_from(Fn&& fn) {
    std::forward<Fn>(fn)();
  }
  void take() {}
};

/// "Await this for me": a wait the fiber hands to its driver. Lives on the fiber's stack.
class fiber_request {
 public:
  /// On the driver: the awaiter's await_suspend with the driver's handle, normalised to
  /// "where to transfer" (noop_coroutine() when suspended, the driver itself when not).
  virtual std::coroutine_handle<> suspend(std::coroutine_handle<> driver) = 0;
  /// On the driver, when it resumes: the awaiter's await_resume, result kept here.
  virtual void resume() = 0;
  /// What await_suspend or await_resume threw, rethrown on the fiber.
  std::exception_ptr error;

 protected:
  fiber_request() = default;
  fiber_request(const fiber_request&) = delete;
  fiber_request& operator=(const fiber_request&) = delete;
  ~fiber_request() = default;
};

template <class Awaiter>
class fiber_request_for final : public fiber_request {
 public:
  using result_type = decltype(std::declval<Awaiter&>().await_resume());

  explicit fiber_request_for(Awaiter& a) noexcept : a_(a) {}

  std::coroutine_handle<> suspend(std::coroutine_handle<> driver) override {
    using S = decltype(a_.await_suspend(driver));
    if constexpr (std::is_void_v<S>) {
      a_.await_suspend(driver);
      return std::noop_coroutine();
    } else if constexpr (std::is_same_v<S, bool>) {
      return a_.await_suspend(driver) ? std::noop_coroutine() : driver;
    } else {
      return a_.await_suspend(driver);
    }
  }
  void resume() override {
    slot_.set_from([this]() -> result_type { return a_.await_resume(); });
  }
  result_type take() { return slot_.take(); }

 private:
  Awaiter& a_;
  result_slot<result_type> slot_;
};

/// The fiber's state, in the driver's frame. Driver-side members run on the worker polling
/// the driver; fiber-side ones on the fiber's stack.
class CORIO_API fiber_base {
 public:
  fiber_base(const fiber_base&) = delete;
  fiber_base& operator=(const fiber_base&) = delete;

  // Both sides switch with as few function levels between the switch and the code that
  // continues as possible (step and wait_for are inline, the switch itself is one call):
  // every return through a frame that was live across a switch is mispredicted by the CPU's
  // return-stack predictor, which costs more than the switch on some machines.

  // --- driver side ---
  /// Maps the stack (std::system_error if the kernel refuses) and counts the fiber.
  void start(std::size_t stack_size);
  /// Runs the fiber until it waits (returns true: request() is what it waits for) or ends.
  bool step() {
    const step_scope s = enter_step();
    ctx_.resume();
    return leave_step(s);
  }
  fiber_request& request() noexcept { return *request_; }

  // --- fiber side ---
  /// Switches to the driver until it has completed `r`. Rethrows what the wait threw; throws
  /// corio::fiber_unwinding if the fiber is being cancelled.
  void wait_for(fiber_request& r) {
    if (cancelled_) throw_unwinding();
    request_ = &r;
    ctx_.suspend();
    request_ = nullptr;
    if (cancelled_) throw_unwinding();
    if (r.error) std::rethrow_exception(std::exchange(r.error, nullptr));
  }
  /// Throws corio::fiber_unwinding if the fiber is being cancelled.
  void check_not_cancelled() const {
    if (cancelled_) throw_unwinding();
  }

 protected:
  fiber_base() = default;
  ~fiber_base() = default;  // fiber_body's destructor has unwound the fiber (ctx_ checks it)
  /// Calls the callable and keeps its result (exceptions are caught by the caller).
  virtual void run() = 0;
  /// For the most-derived destructor: unwinds a suspended fiber and waits for its end.
  void unwind() noexcept;
  /// Rethrows what the callable threw.
  void rethrow_if_failed();

 private:
  struct step_scope {
    fiber_base* outer;    // the fiber this thread was running (nested unwinding), or null
    bool outer_in_fiber;  // thread_context::in_fiber before
    std::uint64_t t0;     // coarse clock at the switch in
  };
  /// Around the switch in step(), on the driver's thread: the thread-local current fiber,
  /// thread_context::in_fiber, metrics; leave_step returns false once the fiber has ended.
  step_scope enter_step() noexcept;
  bool leave_step(const step_scope& s) noexcept;
  [[noreturn]] static void throw_unwinding();
  static void entry(void* self) noexcept;

  fiber_context ctx_;
  fiber_request* request_ = nullptr;
  scheduler* sched_ = nullptr;
  std::exception_ptr error_;
  bool cancelled_ = false;
};

template <class R, class F>
class fiber_body final : public fiber_base {
 public:
  explicit fiber_body(F& f) noexcept : f_(f) {}
  ~fiber_body() { unwind(); }  // before f_ (and what the stack borrows from it) goes

  R take() {
    rethrow_if_failed();
    return slot_.take();
  }

 private:
  void run() override {
    slot_.set_from([this]() -> R { return std::invoke(std::move(f_)); });
  }

  F& f_;
  result_slot<R> slot_;
};

/// What the driver awaits on the fiber's behalf.
struct [[nodiscard]] request_awaiter {
  fiber_request& r;
  bool await_ready() const noexcept { return false; }  // the fiber asked await_ready already
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) { return r.suspend(h); }
  void await_resume() { r.resume(); }
};

/// The task behind spawn_fiber. `f` lives in the frame until the frame goes (like a task's
/// parameters); the fiber has ended before that.
template <class R, class F>
task<R> fiber_driver(F f, std::size_t stack_size) {
  fiber_body<R, F> body(f);
  body.start(stack_size);
  while (body.step()) {
    fiber_request& r = body.request();
    try {
      co_await request_awaiter{r};
    } catch (...) {
      r.error = std::current_exception();
    }
  }
  co_return body.take();
}

/// The fiber running on this thread, null outside fibers. Not inlined, like this_thread().
CORIO_API fiber_base* current_fiber() noexcept;

/// corio::await outside a fiber: throws corio::usage_error inside a coroutine task or on a
/// worker thread; returns otherwise (the caller then blocks on a runtime of its own).
CORIO_API void check_blocking_await_allowed();

/// Validates fiber_options::stack_size (std::invalid_argument).
CORIO_API std::size_t checked_stack_size(std::size_t n);

}  // namespace corio::detail
