#pragma once
// Runtime set-ups shared by the tests, and a scale factor for the sanitizer builds.

#include <corio/corio.hpp>

#include <cstdlib>

namespace corio::test {

/// Sizes of stress loops: full size normally, divided under sanitizers (CORIO_TEST_SCALE=n
/// divides by n).
inline long scaled(long n) {
  static const long div = [] {
    const char* s = std::getenv("CORIO_TEST_SCALE");
    long d = s ? std::atol(s) : 1;
    return d > 0 ? d : 1;
  }();
  long r = n / div;
  return r > 0 ? r : 1;
}

inline runtime multi(unsigned workers = 2) { return runtime::builder().worker_threads(workers).build(); }
inline runtime single() { return runtime::builder().current_thread().build(); }
inline runtime paused(bool current_thread = true) {
  auto b = runtime::builder().start_paused();
  if (current_thread) b.current_thread();
  else b.worker_threads(2);
  return b.build();
}

}  // namespace corio::test
