#pragma once
// CPU affinity of corio's own threads. corio::par pins its workers one per CPU (pool.hpp,
// placement::spread); a thread inherits the affinity of the thread that starts it, so the
// threads corio starts elsewhere (blocking-pool threads, unpinned par workers) first take
// back the process's CPU set, in case they were started from a pinned par worker. A
// runtime's workers do not yet: a runtime built on a pinned par worker runs on its one CPU.
// (Doing it at worker start-up widened a start-up race in which a task spawned right after
// build() was never run under ThreadSanitizer; that race is to be found first.)

#include <vector>

#include "export.hpp"

namespace corio::detail {

/// The CPUs the process may run on, in increasing order: those of its main thread (what
/// taskset and cpusets set). Empty if the kernel will not say.
CORIO_TEST_API std::vector<int> process_cpus();

/// Pins the calling thread to `cpu`. A hint: if the kernel refuses (the CPU left the
/// process's cpuset), the thread stays where it was allowed to run.
void pin_current_thread(int cpu) noexcept;

/// Gives the calling thread the process's CPU set if it runs on a narrower one.
void unpin_current_thread() noexcept;

}  // namespace corio::detail
