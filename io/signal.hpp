#pragma once
// corio::signal — wait for Unix signals in a task, for graceful shutdown and reloads.
//
//   co_await corio::signal::ctrl_c();                 // the next SIGINT
//
//   corio::signal::listener term(SIGTERM);            // counts SIGTERMs from now on
//   for (;;) { co_await term.recv(); reload(); }      // once per signal delivered
//
// Delivery: the first listener of a signal installs a process-wide handler (sigaction, with
// SA_RESTART) that only bumps an atomic counter for the signal and writes an eventfd (both
// async-signal-safe). A helper thread, started with the first listener and alive for the rest
// of the program (it blocks every signal itself), reads the eventfd and wakes the tasks waiting
// in recv() through a corio::notify per signal. recv() completes once for each signal delivered
// since the listener was created and not yet received by it: nothing is missed while the task
// is busy elsewhere. (Signals that arrive while the same signal is still pending in the kernel
// merge into one, as always with standard signals.)
//
// Dispositions: installing the handler replaces the signal's action for as long as the program
// runs — in particular, after the first listener for SIGINT or SIGTERM the process no longer
// dies of them: the program decides when to stop. A handler that was installed before (by the
// program or a library) keeps being called, after the count; SIG_IGN and SIG_DFL are replaced.
// If something else later replaces corio's handler, the next listener created for that signal
// installs it again (chaining to the newcomer). Signals that cannot be caught or must not be
// (SIGKILL, SIGSTOP, and the synchronous faults SIGSEGV, SIGBUS, SIGFPE, SIGILL) are refused
// with std::invalid_argument. After fork() the child keeps the handler but not the helper
// thread: listeners do not work in a child.
//
// Threads: a listener is a small value (the signal number and how many it has received);
// recv() must be awaited in a task, by one task at a time per listener; any number of
// listeners may wait for the same signal, and each sees every signal. Aborting a task waiting
// in recv() is safe and consumes nothing.
//
// Naming: this namespace hides ::signal() inside namespace corio and, after
// `using namespace corio;`, makes an unqualified `signal(...)` call ambiguous: write ::signal.

#include <csignal>
#include <cstdint>
#include <functional>

#include "../runtime/detail/export.hpp"
#include "../runtime/diagnostics.hpp"
#include "../runtime/task.hpp"

namespace corio::signal {

/// Counts deliveries of one signal from its creation on; recv() waits for the next one not yet
/// received. One task at a time per listener (see above).
class CORIO_API listener {
 public:
  /// Starts counting deliveries of `signo` (installing the handler if needed).
  /// std::invalid_argument for an out-of-range or refused signal (see above);
  /// std::system_error if sigaction fails (e.g. the C library reserves the signal).
  explicit listener(int signo);

  /// Completes when a signal that this listener has not yet received has been delivered: at
  /// once if one is pending. The task resumes on a worker of its runtime. One task at a time
  /// per listener.
  ///
  /// **Cancel safety:** cancel-safe: a dropped recv() consumes no signal; the next recv() (or
  /// try_recv) still sees it.
  task<void> recv();
  /// Receives a pending signal without waiting: false if none is pending.
  bool try_recv() noexcept;
  /// Signals delivered since creation and not yet received.
  std::uint64_t pending() const noexcept;

  /// The signal it listens for.
  int signo() const noexcept { return signo_; }

 private:
  int signo_;
  std::uint64_t seen_;
};

/// Waits for the next SIGINT (Ctrl-C in a terminal), counting from the call, not from the
/// first await: `auto c = ctrl_c(); ...; co_await c;` sees a SIGINT that arrives in between.
/// A SIGINT before the first ctrl_c() or listener for SIGINT takes the default action.
/// Cancel-safe: dropping it loses nothing (each call counts from its own start). Awaited in a
/// task on any worker.
CORIO_API task<void> ctrl_c();

/// Waits for the next SIGTERM (what `kill` and service managers send), like ctrl_c(), and as
/// cancel-safe.
CORIO_API task<void> terminate();

/// A task dump on demand: spawn it (detached) and every `signo` (e.g. SIGUSR1: `kill -USR1
/// <pid>`) prints the calling runtime's task dump (runtime::dump_tasks) to stderr, or hands it
/// to `out`. Runs until aborted or the runtime shuts down. Throws like listener(signo).
CORIO_API task<void> dump_tasks_on(int signo, std::function<void(const task_dump&)> out = {});

}  // namespace corio::signal
