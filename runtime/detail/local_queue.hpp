#pragma once
// A worker's local run queue: a fixed ring that its owner pushes and pops without locks and
// that other workers steal half of.
//
// Indices are free-running u32 counters (slot = index & mask). `head_` packs two of them:
//   real  - the next slot the owner pops; advanced by the owner's pop and by a stealer's claim;
//   steal - the first slot a stealer is still copying out; equal to `real` when no steal is
//           in progress.
// The owner never overwrites slots in [steal, tail), so a stealer can copy its claimed slots
// [steal, real) without racing the owner. Only one stealer runs at a time (a second sees
// steal != real and gives up). `tail_` is written only by the owner (release), read by
// stealers (acquire) to see the slots it published.
//
// A full queue moves half of its tasks (plus the new one) to the injection queue in one batch,
// so a task-spawning loop costs one lock per Capacity/2 spawns, not one per spawn.

#include <cstddef>
#include <cstdint>

#include "atomic.hpp"
#include "task_header.hpp"

namespace corio::detail {

template <std::size_t Capacity = 256>
class local_queue {
  static_assert((Capacity & (Capacity - 1)) == 0 && Capacity >= 4, "capacity: a power of two");
  static constexpr std::uint32_t mask = Capacity - 1;
  static constexpr std::uint32_t half = Capacity / 2;

  static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
    return (std::uint64_t{steal} << 32) | real;
  }
  static std::uint32_t steal_of(std::uint64_t h) noexcept { return static_cast<std::uint32_t>(h >> 32); }
  static std::uint32_t real_of(std::uint64_t h) noexcept { return static_cast<std::uint32_t>(h); }

 public:
  static constexpr std::size_t capacity = Capacity;

  /// Owner: appends `t`. When full, hands half of the queue plus `t` to `overflow(ptrs, n)`.
  template <class Overflow>
  void push_back(task_header* t, Overflow&& overflow) {
    for (;;) {
      std::uint64_t h = head_.load(std::memory_order_acquire);
      std::uint32_t steal = steal_of(h), real = real_of(h);
      std::uint32_t tail = tail_.load(std::memory_order_relaxed);
      if (tail - steal < Capacity) {
        buf_[tail & mask].store(t, std::memory_order_relaxed);
        tail_.store(tail + 1, std::memory_order_release);
        return;
      }
      if (steal != real) {  // a stealer is copying out: it will make room; don't wait for it
        overflow(&t, 1);
        return;
      }
      // Claim the oldest half for the injection queue.
      if (!head_.compare_exchange_strong(h, pack(real + half, real + half), std::memory_order_acq_rel,
                                         std::memory_order_relaxed))
        continue;  // a stealer got in first; there may be room now
      task_header* batch[half + 1];
      for (std::uint32_t i = 0; i < half; ++i) batch[i] = buf_[(real + i) & mask].load(std::memory_order_relaxed);
      batch[half] = t;
      overflow(batch, half + 1);
      return;
    }
  }

  /// Owner: takes the oldest task, or null.
  task_header* pop() noexcept {
    std::uint64_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t steal = steal_of(h), real = real_of(h);
      if (real == tail_.load(std::memory_order_relaxed)) return nullptr;
      std::uint64_t next = steal == real ? pack(real + 1, real + 1) : pack(steal, real + 1);
      if (head_.compare_exchange_weak(h, next, std::memory_order_acq_rel, std::memory_order_acquire))
        return buf_[real & mask].load(std::memory_order_relaxed);
    }
  }

  /// Called by the owner of `dst` (which must be nearly empty): moves half of this queue's
  /// tasks into `dst` and returns one of them to run now, or null if there was nothing (or
  /// another stealer was busy).
  task_header* steal_into(local_queue& dst) noexcept {
    std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
    std::uint32_t dst_steal = steal_of(dst.head_.load(std::memory_order_acquire));
    if (dst_tail - dst_steal > half) return nullptr;  // no room for a half batch

    std::uint64_t prev = head_.load(std::memory_order_acquire);
    std::uint64_t next;
    std::uint32_t first, n;
    for (;;) {
      std::uint32_t steal = steal_of(prev), real = real_of(prev);
      if (steal != real) return nullptr;  // another stealer is active
      std::uint32_t tail = tail_.load(std::memory_order_acquire);
      n = tail - real;
      n -= n / 2;
      if (n == 0) return nullptr;
      first = real;
      next = pack(steal, real + n);
      if (head_.compare_exchange_weak(prev, next, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    for (std::uint32_t i = 0; i < n; ++i)
      dst.buf_[(dst_tail + i) & mask].store(buf_[(first + i) & mask].load(std::memory_order_relaxed),
                                            std::memory_order_relaxed);
    // Release the claim: steal catches up with real (which the owner may have moved meanwhile).
    prev = next;
    for (;;) {
      std::uint32_t real = real_of(prev);
      if (head_.compare_exchange_weak(prev, pack(real, real), std::memory_order_acq_rel, std::memory_order_acquire))
        break;
    }
    --n;
    task_header* ret = dst.buf_[(dst_tail + n) & mask].load(std::memory_order_relaxed);
    if (n > 0) dst.tail_.store(dst_tail + n, std::memory_order_release);
    return ret;
  }

  /// Approximate number of queued tasks (exact for the owner).
  std::size_t size() const noexcept {
    std::uint32_t real = real_of(head_.load(std::memory_order_acquire));
    return tail_.load(std::memory_order_acquire) - real;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  alignas(64) atomic<std::uint64_t> head_{0};
  alignas(64) atomic<std::uint32_t> tail_{0};
  atomic<task_header*> buf_[Capacity] = {};
};

}  // namespace corio::detail
