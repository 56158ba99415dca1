#pragma once
// A lifetime-counting value for tests: how many were constructed, destroyed, and are alive.

#include <atomic>

namespace corio::test {

struct counted {
  static inline std::atomic<long> constructed{0};
  static inline std::atomic<long> destroyed{0};
  static long alive() { return constructed.load() - destroyed.load(); }
  static void reset() {
    constructed = 0;
    destroyed = 0;
  }

  int value = 0;
  counted() { ++constructed; }
  explicit counted(int v) : value(v) { ++constructed; }
  counted(const counted& o) : value(o.value) { ++constructed; }
  counted(counted&& o) noexcept : value(o.value) { ++constructed; }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) noexcept = default;
  ~counted() { ++destroyed; }
};

}  // namespace corio::test
