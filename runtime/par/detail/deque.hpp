#pragma once
// The work-stealing deque of one pool worker: the THE protocol of Cilk-5 (Frigo, Leiserson,
// Randall 1998) with asymmetric fences (sync.hpp).
//
// The owner pushes and pops at the tail; thieves take from the head, one at a time (they hold
// the deque's spin lock while they steal). Indices are 64-bit and only grow (modulo the tail's
// pops), slots are a ring of `capacity` entries.
//
//   push:  slot[T] = j; T = T + 1 (release)              — owner only, no fence, no lock
//   pop:   T = T - 1; light fence; if H > T: conflict → restore T, take the lock, decide again
//   steal: lock; H = H + 1; heavy fence; if H > T: undo (H = H - 1) and fail; else take slot[H-1]
//
// The owner's store of T and a thief's store of H form a Dekker pair: at least one of them sees
// the other's store, so the owner and a thief never both take the last job. While a thief holds
// the lock nobody else moves H, so the owner's slow path (under the lock) needs no fence.
//
// A full deque refuses the push (the caller runs the job itself): the capacity bounds only how
// deeply joins may nest on one thread before they stop being stealable. One slot of slack
// covers a thief's tentative H + 1, which the owner may read before it is undone.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "job.hpp"
#include "sync.hpp"

namespace corio::par::detail {

class work_deque {
 public:
  static constexpr std::size_t capacity = 4096;

  /// Owner only. False when full.
  bool push(job* j) noexcept {
    std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_relaxed) >= capacity - 1) return false;
    slots_[t & mask].store(j, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  /// Owner only: the most recently pushed job, or null if every job was stolen.
  job* pop() noexcept {
    std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t == head_.load(std::memory_order_relaxed)) return nullptr;  // empty (H only grows towards T)
    --t;
    tail_.store(t, handshake_store);
    light_fence();
    if (head_.load(handshake_load) > t) {
      tail_.store(t + 1, std::memory_order_release);
      lock_.lock();
      tail_.store(t, std::memory_order_release);
      if (head_.load(std::memory_order_relaxed) > t) {  // the last one was stolen: empty
        tail_.store(t + 1, std::memory_order_release);
        lock_.unlock();
        return nullptr;
      }
      lock_.unlock();
    }
    return slots_[t & mask].load(std::memory_order_relaxed);
  }

  /// Any thread: the oldest job, or null (empty, or another thief is stealing right now).
  job* steal() noexcept {
    if (!looks_nonempty()) return nullptr;
    if (!lock_.try_lock()) return nullptr;
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    head_.store(h + 1, handshake_store);
    heavy_fence();
    if (h + 1 > tail_.load(tsan_mode ? std::memory_order_seq_cst : std::memory_order_acquire)) {
      head_.store(h, std::memory_order_relaxed);
      lock_.unlock();
      return nullptr;
    }
    job* j = slots_[h & mask].load(std::memory_order_relaxed);
    lock_.unlock();
    return j;
  }

  /// A racy hint, for thieves and sleepers (exact for the owner).
  bool looks_nonempty() const noexcept {
    return head_.load(std::memory_order_relaxed) < tail_.load(std::memory_order_acquire);
  }
  /// Owner only: nothing of ours is waiting to be stolen.
  bool empty_for_owner() const noexcept {
    return tail_.load(std::memory_order_relaxed) <= head_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::uint64_t mask = capacity - 1;
  static_assert((capacity & mask) == 0, "capacity must be a power of two");

  alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the owner
  alignas(64) std::atomic<std::uint64_t> head_{0};  // written by thieves, under lock_
  spin_lock lock_;
  alignas(64) std::array<std::atomic<job*>, capacity> slots_{};
};

}  // namespace corio::par::detail
