#pragma once
// Runtime set-ups shared by the tests, and a scale factor for the sanitizer builds.

#include <corio/corio.hpp>

#include <cstdlib>

#include "../../runtime/detail/sanitizers.hpp"

#if CORIO_ASAN
#include <sanitizer/lsan_interface.h>
#endif

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

/// Allocations made while one exists are not reported as leaks (for the few tests whose leak is
/// the documented behaviour).
struct [[maybe_unused]] leak_check_pause {
#if CORIO_ASAN
  leak_check_pause() { __lsan_disable(); }
  ~leak_check_pause() { __lsan_enable(); }
#endif
};

inline runtime multi(unsigned workers = 2) { return runtime::builder().worker_threads(workers).build(); }
inline runtime single() { return runtime::builder().current_thread().build(); }
inline runtime paused(bool current_thread = true) {
  auto b = runtime::builder().start_paused();
  if (current_thread) b.current_thread();
  else b.worker_threads(2);
  return b.build();
}

}  // namespace corio::test
