// Out-of-line parts of the sync primitives' shared machinery: the spin lock's contended path
// and the blocking-call guard.

#include <fmt/format.h>
#include <sched.h>

#include "../../runtime/detail/context.hpp"
#include "../../runtime/error.hpp"
#include "spin_lock.hpp"
#include "waiter.hpp"

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

void check_may_block(const char* what) {
  if (this_thread().current_worker)
    throw usage_error(fmt::format("{}: called on a corio worker thread, where blocking would stall every task "
                                  "queued on it; use co_await instead",
                                  what));
}

}  // namespace corio::detail
