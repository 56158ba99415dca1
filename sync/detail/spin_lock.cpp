// The spin lock's contended path (spin_lock.hpp).

#include "spin_lock.hpp"

#include <sched.h>

namespace corio::detail {

void spin_lock::lock_contended() noexcept {
  // Spin on a plain load (no cache-line ping-pong) for a short while: the sections are a few
  // dozen instructions. Past that the holder was most likely preempted: give up the CPU.
  for (unsigned spins = 0;; ++spins) {
    if (!locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire)) return;
    if (spins < 64)
      cpu_relax();
    else
      sched_yield();
  }
}

}  // namespace corio::detail
