#pragma once
// A snapshot of a runtime's counters (runtime::metrics()). Counters are read without stopping
// the workers, so a snapshot taken while tasks run is approximate.

#include <cstdint>
#include <vector>

namespace corio {

struct worker_metrics {
  std::uint64_t polls = 0;       ///< times a task was resumed
  std::uint64_t steals = 0;      ///< successful steals from another worker's queue
  std::uint64_t parks = 0;       ///< times the worker went to sleep in its reactor
  std::uint64_t local_queue_depth = 0;
  std::uint64_t timers_armed = 0;
};

struct runtime_metrics {
  std::uint32_t workers = 0;
  std::uint64_t tasks_spawned = 0;
  std::uint64_t tasks_alive = 0;  ///< spawned and not yet completed or cancelled
  std::uint64_t polls = 0;
  std::uint64_t steals = 0;
  std::uint64_t parks = 0;
  std::uint64_t injection_queue_depth = 0;
  std::uint64_t timers_armed = 0;
  std::vector<worker_metrics> per_worker;
};

}  // namespace corio
