#pragma once
// A snapshot of a runtime's counters (runtime::metrics()). Counters are read without stopping
// the workers, so a snapshot taken while tasks run is approximate.

#include <cstdint>
#include <vector>

namespace corio {

/// One worker's counters (since the runtime started, or a current depth).
struct worker_metrics {
  std::uint64_t polls = 0;       ///< times a task was resumed
  std::uint64_t steals = 0;      ///< successful steals from another worker's queue
  std::uint64_t parks = 0;       ///< times the worker went to sleep in its reactor
  std::uint64_t local_queue_depth = 0;  ///< tasks in its local run queue now
  std::uint64_t timers_armed = 0;       ///< timers waiting in its timing wheel now
  std::uint64_t fiber_resumes = 0;       ///< switches into a fiber on this worker
  std::uint64_t fiber_busy_ns = 0;       ///< time fibers ran on this worker (coarse clock)
  std::uint64_t fiber_long_resumes = 0;  ///< fiber runs of 10 ms or more on this worker
};

/// The whole runtime's counters: sums over the workers, plus runtime-wide ones.
struct runtime_metrics {
  std::uint32_t workers = 0;        ///< async worker threads
  std::uint64_t tasks_spawned = 0;  ///< since the runtime started (fibers' driver tasks included)
  std::uint64_t tasks_alive = 0;  ///< spawned and not yet completed or cancelled
  std::uint64_t polls = 0;                  ///< the per-worker counters of the same name, summed
  std::uint64_t steals = 0;                 ///< (summed)
  std::uint64_t parks = 0;                  ///< (summed)
  std::uint64_t injection_queue_depth = 0;  ///< tasks in the shared injection queue now
  std::uint64_t timers_armed = 0;           ///< (summed)
  std::uint64_t blocking_threads = 0;  ///< threads of the blocking pool (spawn_blocking) now
  // Fibers (runtime/fiber.hpp). Each fiber is also one of the tasks above (its driver task).
  // Run time is measured per switch with the kernel's coarse clock: a few ms resolution per
  // run, exact enough in sum, and cheap. A fiber that blocks its thread in a system call or a
  // long computation shows up as busy time and as long resumes.
  std::uint64_t fibers_started = 0;      ///< fibers that got a stack and began to run
  std::uint64_t fibers_alive = 0;        ///< started and not yet returned, thrown or unwound
  std::uint64_t fiber_resumes = 0;       ///< switches into a fiber (one per run between awaits)
  std::uint64_t fiber_busy_ns = 0;       ///< total time spent running fiber code
  std::uint64_t fiber_long_resumes = 0;  ///< runs of 10 ms or more without an await: blocking code
  std::vector<worker_metrics> per_worker;  ///< one entry per worker, in worker order
};

}  // namespace corio
