#pragma once
// The instrumented types behind runtime/detail/atomic.hpp when CORIO_MODEL_CHECK is defined.
//
// Each operation hands control to the explorer (explorer.hpp): it is a scheduling point, and
// the explorer decides which store a load reads (memory model in explorer.cpp). Values travel
// as 64-bit words, so T must be trivially copyable and at most 8 bytes (integers, pointers,
// enums, bool): all the core uses.

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace corio::model {

namespace engine {
using word = std::uint64_t;
enum class rmw_kind : std::uint8_t { exchange, add, sub, bit_and, bit_or };

std::uint32_t new_location(word initial, const char* what);
word load(std::uint32_t loc, std::memory_order mo);
void store(std::uint32_t loc, word v, std::memory_order mo);
/// A read-modify-write; returns the previous value. `width` masks add/sub to the type's size.
word rmw(std::uint32_t loc, rmw_kind k, word operand, std::memory_order mo, unsigned width);
/// Compare-exchange: true and stores `desired` if the latest value equals `expected`;
/// otherwise writes the value read into `expected`. Never fails spuriously.
bool cas(std::uint32_t loc, word& expected, word desired, std::memory_order success, std::memory_order failure);
void fence(std::memory_order mo);
void spin_loop_hint();
}  // namespace engine

template <class T>
class atomic {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "model atomics hold words");

  static engine::word to_word(T v) noexcept {
    engine::word w = 0;
    std::memcpy(&w, &v, sizeof(T));
    return w;
  }
  static T from_word(engine::word w) noexcept {
    T v;
    std::memcpy(&v, &w, sizeof(T));
    return v;
  }
  static constexpr std::memory_order failure_of(std::memory_order o) noexcept {
    return o == std::memory_order_acq_rel ? std::memory_order_acquire
           : o == std::memory_order_release ? std::memory_order_relaxed
                                            : o;
  }

 public:
  atomic() noexcept : atomic(T{}) {}
  atomic(T v) noexcept : loc_(engine::new_location(to_word(v), "atomic")) {}  // NOLINT: as std::atomic
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  T load(std::memory_order o = std::memory_order_seq_cst) const noexcept { return from_word(engine::load(loc_, o)); }
  void store(T v, std::memory_order o = std::memory_order_seq_cst) noexcept { engine::store(loc_, to_word(v), o); }
  operator T() const noexcept { return load(); }  // NOLINT: as std::atomic
  T operator=(T v) noexcept {
    store(v);
    return v;
  }
  T exchange(T v, std::memory_order o = std::memory_order_seq_cst) noexcept {
    return from_word(engine::rmw(loc_, engine::rmw_kind::exchange, to_word(v), o, sizeof(T)));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order s, std::memory_order f) noexcept {
    engine::word e = to_word(expected);
    bool ok = engine::cas(loc_, e, to_word(desired), s, f);
    if (!ok) expected = from_word(e);
    return ok;
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order o = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(expected, desired, o, failure_of(o));
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order s, std::memory_order f) noexcept {
    return compare_exchange_strong(expected, desired, s, f);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order o = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(expected, desired, o, failure_of(o));
  }
  T fetch_add(T v, std::memory_order o = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return from_word(engine::rmw(loc_, engine::rmw_kind::add, to_word(v), o, sizeof(T)));
  }
  T fetch_sub(T v, std::memory_order o = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return from_word(engine::rmw(loc_, engine::rmw_kind::sub, to_word(v), o, sizeof(T)));
  }
  T fetch_and(T v, std::memory_order o = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return from_word(engine::rmw(loc_, engine::rmw_kind::bit_and, to_word(v), o, sizeof(T)));
  }
  T fetch_or(T v, std::memory_order o = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return from_word(engine::rmw(loc_, engine::rmw_kind::bit_or, to_word(v), o, sizeof(T)));
  }

 private:
  std::uint32_t loc_;
};

inline void atomic_thread_fence(std::memory_order o) noexcept { engine::fence(o); }
inline void spin_loop_hint() noexcept { engine::spin_loop_hint(); }

/// A lock the explorer understands: a thread that finds it taken waits (is not scheduled)
/// until the holder releases it. lock() acquires, unlock() releases, as std::mutex.
class mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) spin_loop_hint();
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  atomic<bool> locked_{false};
};

}  // namespace corio::model
