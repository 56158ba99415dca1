#pragma once
// The work-stealing deque of one pool worker: the Chase-Lev deque (Chase and Lev 2005), with
// the memory orders of Lê, Pop, Cohen and Zappa Nardelli's C11 version (PPoPP 2013), over a
// fixed ring instead of a growable array.
//
// The owner pushes and pops at the bottom; thieves take from the top. Indices are 64-bit and
// only grow (the bottom moves back by one during a pop), slots are a ring of `capacity`.
//
//   push:  slot[B] = j; B = B + 1 (release)
//   pop:   B = B - 1; fence; read T. T < B: ours, no contest. T == B (the last job): claim it
//          by CAS T -> T + 1, racing thieves, then restore B. T > B: empty, restore B.
//   steal: read T; fence; read B. T < B: read slot[T], claim it by CAS T -> T + 1.
//
// The owner's store of B and a thief's read of B after its read of T form the handshake of
// sync.hpp: the fences make sure that an owner and a thief never both decide they own the job
// at T == B without one of them losing the CAS. A thief that loses a CAS returns nothing (the
// caller looks elsewhere and comes back later).
//
// A full deque refuses the push (the caller runs the job itself): the capacity bounds only how
// deeply joins may nest on one thread before they stop being stealable.
//
// (An earlier version used the THE protocol of Cilk-5 with a lock for thieves and a tentative
// head increment; under many more workers than cores it occasionally let the owner and a thief
// both run the last job, found by the stress test "pools of 1 to 8 workers".)

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../../detail/atomic.hpp"
#include "job.hpp"
#include "sync.hpp"

namespace corio::par::detail {

template <std::size_t Capacity>
class basic_work_deque {
 public:
  static constexpr std::size_t capacity = Capacity;

  /// Owner only. False when full.
  bool push(job* j) noexcept {
    const std::uint64_t b = bottom_.load(std::memory_order_relaxed);
    const std::uint64_t t = top_.load(std::memory_order_acquire);
    if (b - t >= capacity) return false;
    slots_[b & mask].store(j, std::memory_order_relaxed);
    bottom_.store(b + 1, std::memory_order_release);
    return true;
  }

  /// Owner only: the most recently pushed job, or null if every job was stolen.
  job* pop() noexcept {
    const std::uint64_t b0 = bottom_.load(std::memory_order_relaxed);
    if (b0 == top_.load(std::memory_order_relaxed)) return nullptr;  // empty: T only grows towards B
    const std::uint64_t b = b0 - 1;
    bottom_.store(b, handshake_store);
    handshake_fence();
    std::uint64_t t = top_.load(handshake_load);
    if (t > b) {  // a thief took the last one
      bottom_.store(b0, std::memory_order_relaxed);
      return nullptr;
    }
    job* j = slots_[b & mask].load(std::memory_order_relaxed);
    if (t == b) {  // the last one: thieves may be after it too
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) j = nullptr;
      bottom_.store(b0, std::memory_order_relaxed);
    }
    return j;
  }

  /// Any thread: the oldest job, or null (empty, or another thread claimed it first).
  job* steal() noexcept {
    std::uint64_t t = top_.load(tsan_mode ? std::memory_order_seq_cst : std::memory_order_acquire);
    handshake_fence();
    const std::uint64_t b = bottom_.load(tsan_mode ? std::memory_order_seq_cst : std::memory_order_acquire);
    if (t >= b || b - t > capacity) return nullptr;  // empty (or a torn view mid-pop: look later)
    job* j = slots_[t & mask].load(std::memory_order_relaxed);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return nullptr;
    return j;
  }

  /// A racy hint, for thieves and sleepers (exact for the owner).
  bool looks_nonempty() const noexcept {
    return top_.load(std::memory_order_relaxed) < bottom_.load(std::memory_order_acquire);
  }
  /// Owner only: nothing of ours is waiting to be stolen.
  bool empty_for_owner() const noexcept {
    return bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::uint64_t mask = capacity - 1;
  static_assert((capacity & mask) == 0, "capacity must be a power of two");

  alignas(64) ::corio::detail::atomic<std::uint64_t> bottom_{0};  // written by the owner
  alignas(64) ::corio::detail::atomic<std::uint64_t> top_{0};     // advanced by CAS (thieves, and the owner's last pop)
  alignas(64) std::array<::corio::detail::atomic<job*>, capacity> slots_{};
};

/// The pool's deque. (The capacity is a parameter only so that tests/model can check a small one.)
using work_deque = basic_work_deque<4096>;

}  // namespace corio::par::detail
