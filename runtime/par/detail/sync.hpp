#pragma once
// Low-level synchronisation for the fork-join pool: a futex parker and the
// fences of the handshakes the work-stealing deque and the sleep protocol are built on.
//
// Handshakes. Two places in the pool are Dekker-style handshakes: a deque owner writes its tail
// then reads the head while a thief writes the head then reads the tail; a worker that pushes
// work reads the sleep counters while a worker going to sleep bumps them then looks for work.
// Each side must see the other's write, so each puts a full fence (`handshake_fence`) between
// its store and its load. Under ThreadSanitizer, which does not model fences, the handshake
// variables are accessed with seq_cst operations instead (`handshake_store` / `handshake_load`).
//
// An earlier version made the frequent side (the owner's pop) a compiler barrier only and the
// rare side membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED). On the virtual machines corio is
// tested on, owner and thief then both took the same job now and then (the stress test "pools
// of 1 to 8 workers" ran a finished join's half a second time), so both sides pay a fence.

#include <atomic>
#include <cstdint>

#include "../../detail/atomic.hpp"
#include "../../detail/export.hpp"
#include "../../detail/futex.hpp"
#include "../../detail/sanitizers.hpp"

namespace corio::par::detail {

inline constexpr bool tsan_mode = CORIO_TSAN;

/// Memory orders of the handshake accesses: seq_cst under TSan (no fences needed), otherwise
/// release/relaxed with handshake_fence() between them.
inline constexpr std::memory_order handshake_store = tsan_mode ? std::memory_order_seq_cst : std::memory_order_release;
inline constexpr std::memory_order handshake_load = tsan_mode ? std::memory_order_seq_cst : std::memory_order_relaxed;

/// Between the store and the load of either side of a handshake.
inline void handshake_fence() noexcept {
  if constexpr (!tsan_mode) ::corio::detail::atomic_thread_fence(std::memory_order_seq_cst);  // the shim: model-checked
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();  // _mm_pause without <immintrin.h> (~0.7 s of every includer's compile)
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

using corio::detail::futex_wait;
using corio::detail::futex_wake;

/// A one-token binary semaphore for one thread to sleep on (as Rust's thread::park):
/// `unpark()` makes the next (or the current) `park()` return; tokens do not accumulate.
/// `park()` may also return spuriously, so callers re-check their condition in a loop.
class parker {
 public:
  void park() noexcept {
    // empty -> parked; a pending token (notified -> empty) returns at once.
    if (state_.fetch_sub(1, std::memory_order_acquire) == notified) return;
    for (;;) {
      futex_wait(state_, parked);
      std::uint32_t s = notified;
      if (state_.compare_exchange_strong(s, empty, std::memory_order_acquire)) return;
    }
  }
  void unpark() noexcept {
    if (state_.exchange(notified, std::memory_order_release) == parked) futex_wake(state_, 1);
  }

 private:
  static constexpr std::uint32_t notified = 1, empty = 0, parked = ~std::uint32_t{0};
  std::atomic<std::uint32_t> state_{empty};
};

/// The parker of the calling thread (for threads outside the pool waiting on pool work).
CORIO_API parker& this_thread_parker() noexcept;

}  // namespace corio::par::detail
