#pragma once
// A deterministic, exhaustive interleaving explorer for the lock-free core (docs/internals.md,
// "Model checking").
//
// A model is a function run once per execution. On the main context it builds the shared
// state, starts model threads with `thread(fn)`, calls `run_threads()` (which runs them to the
// end under the explorer's control), then checks the final state. Each operation on a
// `detail::atomic` (tests/model/shim.hpp) is a point where the explorer may switch threads,
// and each load is a point where it may pick an older store the memory model allows. All
// choices of one execution form a path; `explore` enumerates every path by depth-first search
// (replaying the prefix, bumping the last choice that has alternatives left) with a bound on
// preemptions.
//
// It reports: a failed `check` (in a model thread or at the end), a deadlock (every unfinished
// thread waits), a data race on a `cell` (two accesses, one a write, not ordered by
// happens-before), and the number of executions explored.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "shim.hpp"

namespace corio::model {

struct options {
  /// Switches away from a thread that could go on, per execution. Switching at a thread's end
  /// or when it waits is free.
  int preemption_bound = 2;
  /// Stop (and fail) after this many executions: a model that big is a mistake.
  std::size_t max_executions = 2'000'000;
  /// Fault injection for the negative tests: seq_cst fences act as acq_rel fences.
  bool weaken_sc_fences = false;
};

struct result {
  std::size_t executions = 0;
  bool failed = false;
  std::string failure;  ///< what went wrong, with the failing execution's trace
};

/// Explores every execution of `model`. Prints a one-line summary naming `name`.
result explore(const char* name, const options& opt, const std::function<void()>& model);

/// From the model function: starts a model thread (not yet running).
void thread(std::function<void()> fn);
/// From the model function: runs the started threads to their end (or to a failure, after
/// which nothing more of this execution runs and run_threads does not return).
void run_threads();
/// Anywhere in a model: records a failure unless `ok`. In a model thread it ends the execution.
void check(bool ok, const char* what);
/// The current model thread's index (0 on the main context, 1.. for threads).
int thread_index();

namespace engine {
void cell_access(std::uint32_t cell, bool write, const char* what);
std::uint32_t new_cell();
}  // namespace engine

/// Plain (non-atomic) memory whose accesses are checked for data races against the
/// happens-before relation the atomics build. Accesses are not scheduling points.
template <class T>
class cell {
 public:
  explicit cell(T v = T{}) : id_(engine::new_cell()), v_(v) {}
  T get(const char* what = "cell read") const {
    engine::cell_access(id_, false, what);
    return v_;
  }
  void set(T v, const char* what = "cell write") {
    engine::cell_access(id_, true, what);
    v_ = v;
  }

 private:
  std::uint32_t id_;
  T v_;
};

}  // namespace corio::model
