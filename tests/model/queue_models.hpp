#pragma once
// What the queue models share: distinct fake items (never dereferenced) and an oracle that
// counts how often each was taken. The oracle is plain memory outside the model: the explorer
// runs every thread on one OS thread, so it needs no synchronisation of its own.

#include <array>
#include <cstdint>
#include <fmt/format.h>

#include "model/explorer.hpp"

namespace corio::model {

template <class T, std::size_t N>
class item_pool {
 public:
  T* item(std::size_t i) { return reinterpret_cast<T*>(&storage_[i]); }
  std::size_t index(const T* p) const {
    for (std::size_t i = 0; i < N; ++i)
      if (reinterpret_cast<const T*>(&storage_[i]) == p) return i;
    return N;
  }
  /// Records that `p` was taken (pushed out of the queue under test, to a single consumer).
  void taken(const T* p) {
    std::size_t i = index(p);
    check(i < N, "a queue returned something never pushed");
    if (i < N) ++count_[i];
  }
  /// Every item in [0, n) taken exactly once.
  void check_each_once(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) check(count_[i] == 1, count_[i] ? "an item was taken twice" : "an item was lost");
  }
  void reset() { count_ = {}; }

 private:
  struct alignas(64) slot {
    unsigned char bytes[64];
  };
  std::array<slot, N> storage_{};
  std::array<int, N> count_{};
};

}  // namespace corio::model
