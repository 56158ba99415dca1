#pragma once
// The work-stealing deque of one pool worker: a Chase-Lev deque (Chase and Lev 2005, with the
// memory orders of Lê, Pop, Cohen and Zappa Nardelli's C11 version, PPoPP 2013) over a fixed
// ring, split into a public part that thieves may take from and a private part they never see
// (the split deque of Lace, van Dijk and van de Pol 2014, and of Acar, Charguéraud and Rainey's
// private deques, PPoPP 2013, in spirit).
//
// Indices only grow (but for the moves back below); slots are a ring of `capacity`:
//
//     T            S            B
//     | public ... | private ...|
//
// Thieves take from T while T < S. The owner pushes and pops at B. Jobs in [S, B) are the
// owner's alone: pushing and popping them takes no fence and no atomic read-modify-write,
// which is what a fork-join program does millions of times a second (fib_join: 1.7x faster
// than with the fence on every pop). Only a pop that reaches the public part (B == S) runs the
// Chase-Lev protocol, with S in the role of the classic bottom:
//
//   push:     slot[B] = j; B = B + 1; then publish one job if the public part is empty.
//   pop:      B > S: B = B - 1, the job is ours (then publish one if the public part ran dry).
//             B == S: S = S - 1; fence; read T. T < S: ours. T == S (the last): claim it by
//             CAS T -> T + 1, racing thieves, then restore S. T > S: empty, restore S.
//   steal:    read T; fence; read S. T < S: read slot[T], claim it by CAS T -> T + 1.
//   publish:  S = S + 1 (release), while S < B: the oldest private job (the biggest, in a
//             fork-join tree) becomes stealable.
//
// The owner's store of S and a thief's read of S after its read of T form the handshake of
// sync.hpp. Publishing is a plain release store, like the classic push.
//
// What is kept public. A push or pop that finds the public part empty (thieves took it all)
// publishes the oldest private job, and the worker publishes one more on every push while
// some worker is awake and looking for work (pool_core.hpp). So a thief always finds the
// oldest job of a busy worker, and while every worker is busy jobs stay private and cheap.
// The cost: a worker running a long job without pushing or popping keeps its private jobs to
// itself until it next does; a thief that finds nothing public looks at other workers. So
// jobs that are coarse by nature (par::scope's spawns) are pushed public at once.
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

  /// Owner only: pushes j as a private job (public if nothing else is). False when full.
  bool push(job* j) noexcept {
    const std::uint64_t b = bottom_;
    const std::uint64_t t = top_.load(std::memory_order_acquire);
    if (b - t >= capacity) return false;
    slots_[b & mask].store(j, std::memory_order_relaxed);
    bottom_ = b + 1;
    const std::uint64_t s = split_.load(std::memory_order_relaxed);
    if (t >= s) split_.store(s + 1, std::memory_order_release);  // the public part was empty
    return true;
  }

  /// Owner only: makes the oldest private job stealable, if there is one.
  void publish() noexcept {
    const std::uint64_t s = split_.load(std::memory_order_relaxed);
    if (s < bottom_) split_.store(s + 1, std::memory_order_release);
  }

  /// Owner only: makes every private job stealable.
  void publish_all() noexcept {
    if (split_.load(std::memory_order_relaxed) < bottom_) split_.store(bottom_, std::memory_order_release);
  }

  /// Owner only: the most recently pushed job, or null if every job was stolen.
  job* pop() noexcept {
    const std::uint64_t b0 = bottom_;
    const std::uint64_t s = split_.load(std::memory_order_relaxed);
    if (b0 > s) {  // private: nobody else looks at it
      const std::uint64_t b = b0 - 1;
      job* j = slots_[b & mask].load(std::memory_order_relaxed);
      bottom_ = b;
      if (b > s && top_.load(std::memory_order_relaxed) >= s)
        split_.store(s + 1, std::memory_order_release);  // the public part ran dry
      return j;
    }
    // b0 == s: the newest job, if any, is public.
    if (s == top_.load(std::memory_order_relaxed)) return nullptr;  // empty: T only grows towards S
    const std::uint64_t b = s - 1;
    split_.store(b, handshake_store);
    handshake_fence();
    std::uint64_t t = top_.load(handshake_load);
    if (t > b) {  // a thief took the last one
      split_.store(s, std::memory_order_release);
      return nullptr;
    }
    job* j = slots_[b & mask].load(std::memory_order_relaxed);
    if (t == b) {  // the last one: thieves may be after it too
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) j = nullptr;
      split_.store(s, std::memory_order_release);
      return j;
    }
    bottom_ = b;
    return j;
  }

  /// Any thread: the oldest public job, or null (none, or another thread claimed it first).
  job* steal() noexcept {
    std::uint64_t t = top_.load(tsan_mode ? std::memory_order_seq_cst : std::memory_order_acquire);
    handshake_fence();
    const std::uint64_t s = split_.load(tsan_mode ? std::memory_order_seq_cst : std::memory_order_acquire);
    if (t >= s || s - t > capacity) return nullptr;  // nothing public (or a torn view mid-pop: look later)
    job* j = slots_[t & mask].load(std::memory_order_relaxed);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return nullptr;
    return j;
  }

  /// A racy hint, for thieves and sleepers: something may be stealable.
  bool looks_nonempty() const noexcept {
    return top_.load(std::memory_order_relaxed) < split_.load(std::memory_order_acquire);
  }
  /// Owner only: nothing of ours is waiting, public or private.
  bool empty_for_owner() const noexcept {
    return bottom_ <= top_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::uint64_t mask = capacity - 1;
  static_assert((capacity & mask) == 0, "capacity must be a power of two");

  alignas(64) std::uint64_t bottom_ = 0;                          // the owner's alone
  alignas(64) ::corio::detail::atomic<std::uint64_t> split_{0};   // written by the owner, read by thieves
  alignas(64) ::corio::detail::atomic<std::uint64_t> top_{0};     // advanced by CAS (thieves, and the owner's last pop)
  alignas(64) std::array<::corio::detail::atomic<job*>, capacity> slots_{};
};

/// The pool's deque. (The capacity is a parameter only so that tests/model can check a small one.)
using work_deque = basic_work_deque<4096>;

}  // namespace corio::par::detail
