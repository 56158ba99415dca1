#pragma once
// Stackful fibers: ordinary functions that wait on the runtime without blocking a thread.
//
//   std::string fetch_line(corio::notify& ready, std::string& slot) {   // not a coroutine
//     corio::await(ready.notified());                   // suspends the fiber, not the thread
//     corio::await(corio::sleep(std::chrono::milliseconds(5)));
//     return slot;
//   }
//   auto h = corio::spawn_fiber([&] { return fetch_line(ready, slot); });
//   std::string line = co_await h;                        // a join_handle, like spawn's
//
// spawn_fiber(f) runs `f()` on a stack of its own (256 KiB by default, a guard region below
// it, stacks pooled and reused), scheduled by the same workers as tasks: a fiber *is* a task
// whose body switches to that stack. Inside it, corio::await(a) takes any awaitable of the
// runtime (sleep, notify, channels, mutexes, join handles, task<T>, I/O) and returns what
// `co_await a` would return, or throws what it would throw; while it waits, the fiber's
// thread runs other tasks and fibers. Use it to keep synchronous-style code (a protocol
// client written as plain functions, a C library's callbacks) and still wait on the runtime.
//
// Results and errors: spawn_fiber returns join_handle<R>, R being what `f` returns (void, a
// value or an lvalue reference). `co_await handle` returns it or rethrows what `f` threw.
// Dropping the handle detaches the fiber (an exception then goes to the runtime's
// unhandled-exception hook), exactly as for spawn.
//
// Cancellation: handle.abort() (or the runtime's shutdown) takes effect at the fiber's next
// wait (at once if it is waiting now): the pending corio::await throws corio::fiber_unwinding,
// which unwinds the fiber's stack, running every destructor on it, and the fiber's handle
// then reports corio::cancelled. fiber_unwinding derives from nothing, so
// `catch (const std::exception&)` does not stop it; code that catches everything
// (`catch (...)`) must rethrow it. If it is swallowed anyway, every later corio::await in the
// fiber throws it again, and whatever the function returns is discarded. Do not call
// corio::await from a destructor: during cancellation it throws, and a destructor that
// throws while the stack unwinds terminates the program.
//
// Threads: a fiber runs on one worker at a time but may continue on another worker after any
// corio::await (like a task after co_await). Across an await, thread_local variables, the
// thread id, errno, and the locale or signal mask of "the current thread" may all change.
// Compilers keep the address of a thread_local in a register across function calls within
// one function (they assume the thread never changes under a running function), so in a
// fiber: do not keep a pointer or reference to a thread_local across corio::await, and in a
// function that awaits, read thread-locals through a function that is not inlined. Exception
// state is carried along: a fiber may await inside a catch block and `throw;` afterwards.
//
// Blocking: code in a fiber that blocks its thread (a blocking system call, a long
// computation, std::mutex contention) blocks that worker and every task queued on it; that is
// the caller's choice, and runtime::metrics() shows it (fiber_busy_ns, and
// fiber_long_resumes counts runs of 10 ms or more without an await). Insert
// corio::await(corio::yield_now()) into long computations.
//
// Stack size: fiber_options::stack_size usable bytes (16 KiB .. 1 GiB, rounded up to pages;
// std::invalid_argument otherwise). Running past it hits the guard region: the process dies
// of SIGSEGV, with a line on stderr naming the fiber stack overflow when the process has no
// SIGSEGV handler of its own (see detail/fiber_context.hpp). Each stack costs two memory
// mappings, so vm.max_map_count (65530 by default) caps live fibers at about 30,000; beyond
// that the fiber's handle rethrows std::system_error.
//
// Misuse:
//   corio::await inside a coroutine task (not a fiber)  corio::usage_error: use co_await
//   corio::await on a worker thread outside any task     corio::usage_error
//   corio::await on a plain thread (no runtime)          blocks: builds a current_thread
//                                                        runtime for the call and runs the
//                                                        awaitable on it (like block_on)
//   spawn_fiber outside any runtime                      corio::usage_error: use the overload
//                                                        taking a runtime
//   corio::block_on inside a fiber                       corio::usage_error (as in a task)

#include <concepts>
#include <cstddef>
#include <functional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "detail/await_traits.hpp"
#include "detail/context.hpp"
#include "detail/export.hpp"
#include "detail/fiber_state.hpp"
#include "error.hpp"
#include "join_handle.hpp"
#include "runtime.hpp"
#include "task.hpp"

namespace corio {

/// How spawn_fiber sets up a fiber.
struct fiber_options {
  /// Usable stack bytes: 16 KiB .. 1 GiB, rounded up to whole pages. A guard region below
  /// the stack comes on top of it.
  std::size_t stack_size = detail::fiber_context::default_stack_size;
};

/// Thrown inside a cancelled fiber by corio::await, to unwind the fiber's stack. It derives
/// from nothing on purpose: only `catch (...)` sees it, and such a handler must rethrow it.
class CORIO_API fiber_unwinding final {
 public:
  /// A description, for logs.
  const char* what() const noexcept { return "corio::fiber_unwinding: the fiber was cancelled; its stack is unwinding"; }
};

/// What a fiber running `F` returns.
template <class F>
using fiber_result_t = std::invoke_result_t<std::decay_t<F>>;

/// Runs `f()` on a new fiber of the calling task's (or fiber's) runtime. `f` is moved (or
/// copied) into the fiber and destroyed when the fiber's task is done with. Throws
/// corio::usage_error outside any runtime, std::invalid_argument for a bad stack size.
template <class F>
  requires std::invocable<std::decay_t<F>> && (!std::is_rvalue_reference_v<fiber_result_t<F>>)
join_handle<fiber_result_t<F>> spawn_fiber(F&& f, fiber_options opts = {},
                                           std::source_location where = std::source_location::current()) {
  using R = fiber_result_t<F>;
  const std::size_t stack = detail::checked_stack_size(opts.stack_size);
  detail::scheduler& s = detail::current_scheduler("corio::spawn_fiber");
  task<R> t = detail::fiber_driver<R, std::decay_t<F>>(std::forward<F>(f), stack);
  return join_handle<R>(detail::spawn_root(s, t.release(), &detail::result_slot_of<R>::ops, nullptr, where));
}

/// Runs `f()` on a new fiber of `rt`; callable from any thread.
template <class F>
  requires std::invocable<std::decay_t<F>> && (!std::is_rvalue_reference_v<fiber_result_t<F>>)
join_handle<fiber_result_t<F>> spawn_fiber(runtime& rt, F&& f, fiber_options opts = {},
                                           std::source_location where = std::source_location::current()) {
  using R = fiber_result_t<F>;
  const std::size_t stack = detail::checked_stack_size(opts.stack_size);
  return rt.spawn(detail::fiber_driver<R, std::decay_t<F>>(std::forward<F>(f), stack), where);
}

/// True while the calling code runs on a fiber.
CORIO_API bool in_fiber() noexcept;

namespace detail {
template <class A>
task<await_result_t<A>> await_in_task(A&& a) {
  co_return co_await std::forward<A>(a);
}

template <class A>
await_result_t<A> await_blocking(A&& a) {
  check_blocking_await_allowed();
  runtime rt = runtime::builder().current_thread().build();
  return rt.block_on(await_in_task<A>(std::forward<A>(a)));
}
}  // namespace detail

/// Waits for `awaitable` and returns what `co_await awaitable` would return (or throws what
/// it would throw).
///   - In a fiber: suspends the fiber, not the thread; the fiber may continue on another
///     worker. An awaitable that is ready at once does not suspend at all (it still counts
///     against the cooperative budget, as in a task). Throws corio::fiber_unwinding when the
///     fiber is being cancelled.
///   - On a plain thread outside any runtime: runs the awaitable on a current_thread runtime
///     built for this call, blocking the thread until it completes (as block_on does). Meant
///     for occasional calls; a program making many should keep a runtime and use block_on.
///   - In a coroutine task, or on a worker thread outside a task: corio::usage_error.
/// The awaitable is used in place (an lvalue stays the caller's: a join_handle is consumed
/// as `co_await handle` would consume it).
template <class A>
detail::await_result_t<A> await(A&& awaitable) {
  detail::fiber_base* f = detail::current_fiber();
  if (!f) return detail::await_blocking<A>(std::forward<A>(awaitable));
  f->check_not_cancelled();
  auto&& aw = detail::get_awaiter(std::forward<A>(awaitable));
  if (aw.await_ready()) return aw.await_resume();
  detail::fiber_request_for<std::remove_reference_t<decltype(aw)>> req(aw);
  f->wait_for(req);
  return req.take();
}

}  // namespace corio
