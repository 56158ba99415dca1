#pragma once
// The C++ runtime's per-thread exception state, which fiber_context swaps at every switch.
//
// Itanium C++ ABI, 2.2.2: __cxa_eh_globals is { caughtExceptions, uncaughtExceptions }, in
// libstdc++'s libsupc++ and in libc++abi alike. A fiber that suspends inside a catch block has
// its exception on the thread's caught list; it must leave with the fiber and come back
// wherever the fiber resumes, or the catch block's end would pop another thread's exception.

#include <cxxabi.h>

namespace corio::detail {

struct eh_globals {
  void* caught;
  unsigned int uncaught;
};

// __cxa_get_globals is declared __attribute__((const)); the empty asm keeps the optimiser
// from treating this wrapper as const too and reusing one thread's answer on another.
[[gnu::noinline]] inline eh_globals* thread_eh_globals() noexcept {
  asm volatile("" ::: "memory");
  return reinterpret_cast<eh_globals*>(abi::__cxa_get_globals());
}

}  // namespace corio::detail
