#pragma once
// The engine under every parallel loop: folds an index range [0, n) piece by piece, splitting
// it only when another worker could take the other half.
//
// Adaptive splitting (lazy binary splitting). A piece processes its range in chunks; before
// each chunk it looks at its worker's deque: if nothing of ours is waiting there to be stolen
// (the previous pending half was taken, or there never was one), it splits the rest of its
// range in two with par::join — the right half becomes stealable, the left half continues.
// While every worker is busy, nobody steals, deques stay non-empty and no further splitting
// happens; as soon as a worker runs dry and steals a half, both the thief and the victim split
// again. So the number of pieces follows the demand for work (a few per steal), not n.
//
// Chunk size. The first chunk is `min_chunk` elements; a chunk doubles after one that took less
// than about 10 µs (measured with the cycle counter, every chunk), so a piece looks at its deque
// every 10 µs or so whatever an element costs, and cheap elements run in long, vectorisable
// inner loops. A slow chunk only pauses the growth: one chunk that was preempted, interrupted
// or paid a one-time cost (a first page touch, the processor check of fold.hpp: `cpuid` traps
// to the hypervisor in a VM) must not fix the size for the rest of the loop (it once did: one
// slow 1-element chunk left par_sum folding single items, 10x slower). Split pieces inherit
// the chunk size learned so far.
//
// Failure and early exit. A `loop_control` is shared by all pieces of one call: the first
// exception is kept and `stop` is raised, after which pieces take no new chunks and do not
// split; the call rethrows it once every piece has returned (join waits for both sides).
// Searches (find_any, any_of) raise `stop` themselves when they have an answer.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>

#include "../join.hpp"
#include "pool_core.hpp"

namespace corio::par::detail {

class loop_control {
 public:
  bool stopped() const noexcept { return stop_.load(std::memory_order_relaxed); }
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  /// Keeps the first exception and stops the loop.
  void fail(std::exception_ptr e) noexcept {
    if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::move(e);
    request_stop();
  }
  /// After every piece has returned.
  void rethrow_if_failed() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

/// A cheap clock for chunk sizing: cycles on x86, nanoseconds elsewhere.
inline std::uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();  // __rdtsc without <x86intrin.h>
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}
#if defined(__x86_64__) || defined(__i386__)
inline constexpr std::uint64_t chunk_target_ticks = 25'000;  // ~10 µs at 2.5 GHz
#else
inline constexpr std::uint64_t chunk_target_ticks = 10'000;  // ns
#endif
inline constexpr std::size_t max_chunk = std::size_t{1} << 20;

template <class Folder>
using folder_acc_t = decltype(std::declval<Folder&>().identity());

struct chunking {
  std::size_t chunk = 1;
};

/// Folder requirements (acc_type: what identity() returns; an empty struct when nothing is
/// folded):
///   acc_type identity();
///   acc_type fold(acc_type acc, size_t lo, size_t hi);   [lo, hi) non-empty, in order
///   acc_type combine(acc_type left, acc_type right);      left covers indices before right
///   std::size_t min_split;                      don't split below 2 * this many elements
template <class Folder>
folder_acc_t<Folder> drive(worker& w, Folder& f, loop_control& ctl, std::size_t lo, std::size_t hi, chunking ck) {
  auto acc = f.identity();
  const bool can_split = w.pool.size() > 1;
  while (lo < hi) {
    if (ctl.stopped()) break;
    const std::size_t left = hi - lo;
    if (can_split && left >= 2 * f.min_split && left >= 2 && w.deque.empty_for_owner()) {
      const std::size_t mid = lo + left / 2;
      try {
        auto left_half = [&] { return drive(w, f, ctl, lo, mid, ck); };
        auto right_half = [&] { return drive(*current_worker, f, ctl, mid, hi, ck); };  // maybe a thief
        auto [l, r] = join_on(w, left_half, right_half);
        return f.combine(f.combine(std::move(acc), std::move(l)), std::move(r));
      } catch (...) {  // identity() or combine() threw
        ctl.fail(std::current_exception());
        return acc;
      }
    }
    const std::size_t e = lo + std::min(ck.chunk, left);
    try {
      const std::uint64_t t0 = ticks();
      acc = f.fold(std::move(acc), lo, e);
      if (ck.chunk < max_chunk && ticks() - t0 < chunk_target_ticks) ck.chunk *= 2;
    } catch (...) {
      ctl.fail(std::current_exception());
      break;
    }
    lo = e;
  }
  return acc;
}

}  // namespace corio::par::detail
