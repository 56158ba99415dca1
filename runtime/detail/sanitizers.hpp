#pragma once
// Which sanitizer the including translation unit is compiled for, asked in one place.
//
//   CORIO_ASAN   1 under AddressSanitizer (-fsanitize=address), else 0
//   CORIO_TSAN   1 under ThreadSanitizer (-fsanitize=thread), else 0
//   CORIO_UBSAN  1 under clang's UndefinedBehaviorSanitizer, else 0; g++ gives no way to tell
//                (-fsanitize=undefined defines nothing there), so it is always 0 with g++
//
// Always defined, as 0 or 1: test them with `#if`, never `#ifdef`. g++ says so with
// __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__, clang with __has_feature(...).
//
// tsan_acquire / tsan_release tell ThreadSanitizer about a hand-off it cannot see (one through
// the kernel, say): everything the releasing thread did before tsan_release(p) happens before
// what the acquiring thread does after tsan_acquire(p). Without TSan they compile to nothing.
// Declared here rather than taken from <sanitizer/tsan_interface.h>, which only the compilers'
// sanitizer runtimes ship; this header is installed with the rest.

#if defined(__SANITIZE_ADDRESS__)
#define CORIO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORIO_ASAN 1
#endif
#endif
#ifndef CORIO_ASAN
#define CORIO_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define CORIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORIO_TSAN 1
#endif
#endif
#ifndef CORIO_TSAN
#define CORIO_TSAN 0
#endif

#if defined(__has_feature)
#if __has_feature(undefined_behavior_sanitizer)
#define CORIO_UBSAN 1
#endif
#endif
#ifndef CORIO_UBSAN
#define CORIO_UBSAN 0
#endif

#if CORIO_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace corio::detail {

inline void tsan_acquire([[maybe_unused]] void* addr) noexcept {
#if CORIO_TSAN
  __tsan_acquire(addr);
#endif
}

inline void tsan_release([[maybe_unused]] void* addr) noexcept {
#if CORIO_TSAN
  __tsan_release(addr);
#endif
}

}  // namespace corio::detail
