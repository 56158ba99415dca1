#pragma once
// Low-level synchronisation for the fork-join pool: a futex parker, a spin lock, and the
// asymmetric fences the work-stealing deque is built on.
//
// Asymmetric fences. Two places in the pool are Dekker-style handshakes: a deque owner writes
// its tail then reads the head while a thief writes the head then reads the tail; a worker that
// pushes work reads the sleep counters while a worker going to sleep bumps them then looks for
// work. Each side must see the other's write, which normally costs a full fence on both sides
// (`mfence`, ~7 ns here) — once per `par::join` on the owner's side. The owner's side runs
// millions of times a second, the other side (a steal attempt, falling asleep) rarely, so the
// cost is moved: `light_fence()` on the frequent side is a compiler barrier only, and
// `heavy_fence()` on the rare side is `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which
// makes every running thread of the process execute a full barrier before it returns (an
// interrupt drains the store buffer). Either the frequent side's store was drained before the
// interrupt (the rare side sees it) or its load runs after it (it sees the rare side's store).
// Where membarrier is unavailable (old kernels, seccomp) both become `mfence`. Under
// ThreadSanitizer, which models neither fences nor membarrier, the handshake variables are
// accessed with seq_cst operations instead (see `handshake_store` / `handshake_load`).

#include <atomic>
#include <cstdint>

#if defined(__SANITIZE_THREAD__)
#define CORIO_PAR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORIO_PAR_TSAN 1
#endif
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace corio::par::detail {

#ifdef CORIO_PAR_TSAN
inline constexpr bool tsan_mode = true;
#else
inline constexpr bool tsan_mode = false;
#endif

/// Memory orders of the handshake accesses: seq_cst under TSan (no fences needed), otherwise
/// release/relaxed with the fences below.
inline constexpr std::memory_order handshake_store = tsan_mode ? std::memory_order_seq_cst : std::memory_order_release;
inline constexpr std::memory_order handshake_load = tsan_mode ? std::memory_order_seq_cst : std::memory_order_relaxed;

/// True once membarrier(PRIVATE_EXPEDITED) is registered for the process (set by the first
/// pool, before its threads start; never reset).
extern bool asymmetric_fences;

/// Registers membarrier if the kernel allows it; idempotent.
void init_fences() noexcept;

/// The frequent side of a handshake: between its store and its load.
inline void light_fence() noexcept {
  if constexpr (tsan_mode) return;
  if (asymmetric_fences)
    std::atomic_signal_fence(std::memory_order_seq_cst);
  else
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

/// The rare side of a handshake: between its store and its load.
void heavy_fence() noexcept;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept;
void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

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
parker& this_thread_parker() noexcept;

/// Test-and-test-and-set lock for very short critical sections (a steal).
class spin_lock {
 public:
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void lock() noexcept {
    while (!try_lock()) cpu_relax();
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace corio::par::detail
