#pragma once
// corio::runtime — the executor: worker threads, their run queues, timers and reactors.
//
//   int main() { return corio::block_on(amain()); }          // a default runtime for one call
//
//   corio::runtime rt = corio::runtime::builder().worker_threads(4).build();
//   auto h = rt.spawn(job());                                 // from any thread
//   int v = rt.block_on(use(std::move(h)));
//
// Flavours: multi_thread (default) runs `worker_threads` workers (one per core unless set),
// which steal work from each other; current_thread runs everything on the thread that calls
// block_on, and nothing at all between block_on calls.
//
// Destroying a runtime (or calling shutdown()) stops the workers, cancels every task that is
// left and destroys its frame, newest first, so every RAII object in them is unwound. Join
// handles that outlive the runtime then report corio::cancelled; spawning onto a shut-down
// runtime returns such a handle at once (a detached spawn is dropped).

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "detail/context.hpp"
#include "detail/export.hpp"
#include "detail/spawn.hpp"
#include "diagnostics.hpp"
#include "error.hpp"
#include "join_handle.hpp"
#include "metrics.hpp"
#include "task.hpp"

namespace corio {

/// How a runtime runs its tasks: `multi_thread` on its own work-stealing workers (one per
/// core unless set), `current_thread` on the thread inside block_on, and not at all between
/// block_on calls.
enum class runtime_flavor { multi_thread, current_thread };

/// The I/O backend; `automatic` is io_uring where the kernel allows it, else epoll (overridden
/// by the environment variable CORIO_BACKEND=uring|epoll).
enum class io_backend { automatic, uring, epoll };

/// Receives exceptions that escape detached tasks, with the task's id. It runs on the worker
/// that finished the task; if it throws, the runtime prints a line and carries on.
using unhandled_exception_hook = std::function<void(std::exception_ptr, std::uint64_t task_id)>;

namespace detail {
template <class T>
struct block_on_state;
template <class T>
struct block_on_signal;
CORIO_API void check_block_on_allowed(const char* what);
}  // namespace detail

/// The executor: worker threads with their run queues, timers and I/O reactors (see the top
/// of this file). Move-only; destroying it shuts it down.
///
/// **Threads:** spawn(), dump_tasks(), metrics(), worker_count() and backend_name() may be
/// called from any thread, including this runtime's tasks. block_on() may be called from any
/// thread that is not a worker of a corio runtime (corio::usage_error otherwise); several
/// threads may block_on one multi_thread runtime at once. shutdown() and the destructor must not
/// run on one of this runtime's workers, nor race with each other.
class CORIO_API runtime {
 public:
  /// Configures and builds a runtime: `corio::runtime::builder().worker_threads(4).build()`.
  /// A plain value: each setter returns the builder, and build() may be called several times.
  class builder {
   public:
    /// Number of worker threads of a multi_thread runtime (default: one per core). Throws
    /// std::invalid_argument for 0 or more than 4096.
    builder& worker_threads(unsigned n);
    /// multi_thread (the default) or current_thread (see runtime_flavor).
    builder& flavor(runtime_flavor f) {
      cfg_.current_thread = f == runtime_flavor::current_thread;
      return *this;
    }
    /// Shorthand for flavor(runtime_flavor::current_thread).
    builder& current_thread() { return flavor(runtime_flavor::current_thread); }
    /// Worker threads are named "<name>-<index>" (truncated to the kernel's 15 characters).
    builder& thread_name(std::string name) {
      cfg_.thread_name = std::move(name);
      return *this;
    }
    /// Replaces the default hook, which prints the exception and the task id to stderr.
    builder& on_unhandled_exception(unhandled_exception_hook hook) {
      cfg_.on_unhandled_exception = std::move(hook);
      return *this;
    }
    /// A hook that prints the exception and aborts the process.
    builder& abort_on_unhandled_exception();
    /// Starts with the clock paused: time stands still until corio::time::advance moves it, or
    /// until every worker is idle, when it jumps to the earliest timer. For deterministic tests.
    builder& start_paused(bool paused = true) {
      cfg_.start_paused = paused;
      return *this;
    }
    /// The I/O backend (default io_backend::automatic, which CORIO_BACKEND overrides). Never
    /// throws; build() throws std::system_error if the chosen backend cannot start.
    builder& backend(io_backend b);
    // Blocking pool (spawn_blocking, runtime/blocking.hpp).
    /// Most threads the blocking pool runs at once (default 512); further jobs wait in its
    /// queue. Throws std::invalid_argument for 0.
    builder& max_blocking_threads(unsigned n) {
      if (n == 0) throw std::invalid_argument("corio::runtime::builder::max_blocking_threads: 0 threads");
      cfg_.max_blocking_threads = n;
      return *this;
    }
    /// How long an idle blocking thread waits for work before it exits (default 10 s).
    builder& thread_keep_alive(std::chrono::nanoseconds d) {
      cfg_.blocking_keep_alive = d;
      return *this;
    }
    /// How long shutdown waits for blocking jobs still running (default: until they finish).
    /// Jobs running after it finish on their own threads; their results are dropped.
    builder& blocking_shutdown_timeout(std::chrono::nanoseconds d) {
      cfg_.blocking_shutdown_timeout = d;
      return *this;
    }
    // Diagnostics (runtime/diagnostics.hpp).
    /// Reports any task that runs longer than `threshold` without suspending, with the place
    /// it was spawned from, while it still runs (0 turns detection off). Without this call the
    /// environment variable `CORIO_DETECT_BLOCKING=<milliseconds>` decides (build() throws
    /// std::invalid_argument naming a malformed value). Throws std::invalid_argument for a
    /// negative threshold.
    builder& detect_blocking(std::chrono::milliseconds threshold) {
      if (threshold.count() < 0) throw std::invalid_argument("corio::runtime::builder::detect_blocking: negative threshold");
      cfg_.detect_blocking = threshold;
      return *this;
    }
    /// Where blocking reports go (default: one line on stderr).
    builder& on_blocking(blocking_hook hook) {
      cfg_.on_blocking = std::move(hook);
      return *this;
    }
    /// Starts the runtime (its worker threads, for multi_thread). Throws std::system_error if
    /// the kernel refuses threads or rings.
    runtime build() const { return runtime(cfg_); }

   private:
    detail::runtime_config cfg_;
  };

  /// A multi_thread runtime with one worker per core.
  runtime() : runtime(detail::runtime_config{}) {}
  /// A runtime with configuration `cfg` (what builder::build() calls).
  explicit runtime(detail::runtime_config cfg) : sched_(detail::make_scheduler(std::move(cfg))) {}
  /// Takes over the other runtime's workers and tasks; that one is left empty (only
  /// destroying it is allowed).
  runtime(runtime&&) noexcept = default;
  /// Shuts this runtime down (see the destructor), then takes over `o`'s.
  runtime& operator=(runtime&&) noexcept = default;
  /// Shuts down: stops the workers and destroys every remaining task (see the top of the file).
  ~runtime() = default;  // the scheduler's destructor shuts down

  /// Runs `t` to completion and returns its result (or rethrows its exception). The calling
  /// thread blocks (multi_thread) or becomes the worker (current_thread) until then. Throws
  /// corio::usage_error if called on a worker thread of any corio runtime (use co_await), and
  /// corio::cancelled if the runtime is shut down before `t` finishes.
  template <class T>
  T block_on(task<T> t);

  /// Spawns `t` as an independent task. Callable from any thread. `where` is recorded for
  /// diagnostics (blocking reports, task dumps); leave it defaulted.
  template <class T>
  join_handle<T> spawn(task<T> t, std::source_location where = std::source_location::current()) {
    if (!t.valid()) throw usage_error("corio::runtime::spawn: empty task (default-constructed or moved-from)");
    return join_handle<T>(detail::spawn_root(*sched_, t.release(), &detail::result_slot_of<T>::ops, nullptr, where));
  }

  /// Stops the workers and destroys every remaining task (see above). Idempotent. Throws
  /// corio::usage_error if called from one of this runtime's workers.
  void shutdown();

  /// A snapshot of the runtime's counters (metrics.hpp). Callable from any thread; the
  /// counters are read one by one, so they need not be consistent with each other.
  runtime_metrics metrics() const;
  /// Lists the live tasks with their spawn location and what they wait on (diagnostics.hpp).
  /// Callable from any thread, including a task of this runtime; each worker adds its own
  /// tasks between two polls, so a worker stuck in one long poll is reported as unresponsive
  /// after `wait`.
  task_dump dump_tasks(std::chrono::milliseconds wait = std::chrono::seconds(1)) const;
  /// The number of worker threads (1 for current_thread).
  unsigned worker_count() const noexcept;
  /// "uring" or "epoll".
  std::string_view backend_name() const noexcept;

  /// The scheduler itself, for corio's own tests and tools; not a stable interface.
  detail::scheduler& native() noexcept { return *sched_; }

 private:
  // block_on's untyped part: spawns `root` with this runtime as the thread's, then runs it
  // (current_thread) or waits for `done`.
  void run_root(std::coroutine_handle<> root, const std::atomic<bool>& done);
  detail::scheduler_ptr sched_;
};

/// Spawns `t` on the runtime of the calling task (or of the thread inside block_on). Throws
/// corio::usage_error when called outside any runtime: use runtime::spawn there.
template <class T>
join_handle<T> spawn(task<T> t, std::source_location where = std::source_location::current()) {
  if (!t.valid()) throw usage_error("corio::spawn: empty task (default-constructed or moved-from)");
  detail::scheduler& s = detail::current_scheduler("corio::spawn");
  return join_handle<T>(detail::spawn_root(s, t.release(), &detail::result_slot_of<T>::ops, nullptr, where));
}

/// Builds a default runtime, runs `t` on it, shuts it down, and returns `t`'s result.
template <class T>
T block_on(task<T> t) {
  detail::check_block_on_allowed("corio::block_on");
  runtime rt;
  return rt.block_on(std::move(t));
}

/// The awaitable of yield_now(): suspends the current task and puts it at the back of its
/// worker's queue, so others run. Cancel-safe (it does nothing but wait its turn). Throws
/// corio::usage_error when awaited outside a task.
struct [[nodiscard]] yield_awaitable {
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    return detail::yield_to_scheduler(h, "corio::yield_now");
  }
  void await_resume() const noexcept {}
};
/// Lets other tasks run before this one continues (see yield_awaitable); for long loops
/// that never suspend. Awaited inside a task, on any worker.
inline yield_awaitable yield_now() noexcept { return {}; }

// ---------------------------------------------------------------------------------------------

namespace detail {

template <class T>
struct block_on_state {
  std::atomic<bool> done{false};
  std::optional<non_void_t<std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>>> value;
  std::exception_ptr error;

  void finish() noexcept {
    done.store(true, std::memory_order_release);
    done.notify_all();
  }
};

/// Signals the blocked caller when the root frame goes away: after the body stored its result,
/// or, if the runtime shut down first (even before the body started), with corio::cancelled.
/// A parameter rather than a local, so it exists from the moment the frame does.
template <class T>
struct block_on_signal {
  std::shared_ptr<block_on_state<T>> st;
  explicit block_on_signal(std::shared_ptr<block_on_state<T>> s) noexcept : st(std::move(s)) {}
  block_on_signal(block_on_signal&&) noexcept = default;
  ~block_on_signal() {
    if (!st) return;  // moved-from
    if (!st->error && !st->value)
      st->error = std::make_exception_ptr(cancelled("corio::block_on: the runtime shut down before the task finished"));
    st->finish();
  }
};

template <class T>
task<void> block_on_root(task<T> t, block_on_signal<T> sig) {
  auto& st = *sig.st;
  // The task moves into a local: locals go when the body ends, parameters only with the frame,
  // after `sig` has woken the caller. So the task's frame (and its reference to an exception
  // the caller is about to rethrow) is gone before the caller resumes.
  task<T> inner = std::move(t);
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(inner);
      st.value.emplace();
    } else if constexpr (std::is_reference_v<T>) {
      st.value.emplace(std::addressof(co_await std::move(inner)));
    } else {
      st.value.emplace(co_await std::move(inner));
    }
  } catch (...) {
    st.error = std::current_exception();
  }
}

}  // namespace detail

template <class T>
T runtime::block_on(task<T> t) {
  detail::check_block_on_allowed("corio::runtime::block_on");
  if (!t.valid()) throw usage_error("corio::runtime::block_on: empty task (default-constructed or moved-from)");
  auto st = std::make_shared<detail::block_on_state<T>>();
  auto root = detail::block_on_root<T>(std::move(t), detail::block_on_signal<T>(st));
  run_root(root.release(), st->done);
  if (!st->done.load(std::memory_order_acquire))  // shut down while we waited
    throw cancelled("corio::block_on: the runtime shut down before the task finished");
  // Taken out of the shared state, so the exception is released here, not by the worker
  // that drops the state's last reference after the caller has moved on.
  if (st->error) std::rethrow_exception(std::exchange(st->error, nullptr));
  if constexpr (std::is_reference_v<T>)
    return **st->value;
  else if constexpr (!std::is_void_v<T>)
    return std::move(*st->value);
}

}  // namespace corio
