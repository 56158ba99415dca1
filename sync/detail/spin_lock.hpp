#pragma once
// A small test-and-test-and-set lock for the sync primitives' short critical sections (a few
// pointer updates, never a wake, never an allocation, never user code).
//
// Uncontended it costs one exchange to lock and one release store to unlock. Contended, it
// spins on a plain load with a pause, then falls back to sched_yield so that a holder that was
// preempted (two cores, more runnable threads than cores) gets the CPU back instead of being
// starved by spinners. Memory ordering: lock() acquires, unlock() releases, as std::mutex.

#include <atomic>

#include "../../runtime/detail/atomic.hpp"
#include "../../runtime/detail/export.hpp"

namespace corio::detail {

class spin_lock {
 public:
  spin_lock() noexcept = default;
  spin_lock(const spin_lock&) = delete;
  spin_lock& operator=(const spin_lock&) = delete;

  void lock() noexcept {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    lock_contended();
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  CORIO_API void lock_contended() noexcept;
  atomic<bool> locked_{false};
};

/// One CPU relax hint (`pause` on x86, `yield` on ARM).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace corio::detail
