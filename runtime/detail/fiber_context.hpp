#pragma once
// A bare execution context on its own stack: the one place that knows about Boost.Context
// (fiber_context.cpp includes it; this header does not), the stack pool, and what the
// sanitizers and the C++ runtime must be told when the stack pointer jumps.
//
//   fiber_context ctx;
//   ctx.create(256 * 1024, &entry, arg);   // maps a stack (pooled), nothing runs yet
//   ctx.resume();                          // runs entry(arg) until it calls ctx.suspend()...
//   ctx.resume();                          // ...continues after that suspend(), and so on,
//                                          // until entry returns: finished() is then true and
//                                          // the stack is back in the pool
//
// Two sides: the *driver* calls resume() on an ordinary thread stack (a worker running the
// fiber's driver task); the *fiber* calls suspend() from its own stack. resume() returns on
// the thread that called it, always; the fiber may continue on another thread at its next
// resume() (whoever calls it). Nothing here synchronises: the caller makes sure that one
// resume() at a time runs, and that each happens after the previous one returned (corio's
// scheduler does, since a fiber is resumed only by the task that owns it).
//
// Stacks: `size` usable bytes rounded up to whole pages (plus up to a page, used to start
// each stack at a different cache-line offset), with an inaccessible 16 KiB guard region
// below them, so that running off the end faults instead of overwriting whatever lies
// beneath. Stacks are pooled (a small per-thread cache in front of a global
// pool, exact sizes) so spawning a fiber rarely costs a system call. Every stack is two
// memory mappings (guard + stack): the kernel's vm.max_map_count (65530 by default) bounds
// how many fibers can be alive at once to roughly 30,000.
//
// Per-switch work, besides the register switch itself (Boost.Context's fcontext, the
// assembly jump_fcontext):
//   - the C++ runtime's per-thread exception state (the list of exceptions being handled and
//     the count of those in flight) is swapped, so a fiber may wait inside a catch block or a
//     destructor during unwinding and resume on another thread;
//   - AddressSanitizer is told about every stack switch (__sanitizer_start_switch_fiber /
//     __sanitizer_finish_switch_fiber), ThreadSanitizer gets a fiber of its own per context
//     (__tsan_create_fiber / __tsan_switch_to_fiber / __tsan_destroy_fiber), in builds with
//     those sanitizers.
//
// Stack overflow: when the process has no SIGSEGV handler of its own (the disposition is the
// default one when a new fiber stack is mapped), a handler is installed that prints one line
// naming the overflowed fiber stack when a fault hits a guard region, then lets the default
// action (termination, core dump) happen. Each thread that resumes a fiber gets an alternate
// signal stack for it. An existing handler (yours, a sanitizer's, a test framework's) is left
// alone, and one installed later replaces this one.

#include <cstddef>
#include <cstdint>

#include "export.hpp"

namespace corio::detail {

class fiber_context {
 public:
  using entry_fn = void (*)(void* arg) noexcept;

  /// Smallest and largest stack a fiber may ask for (usable bytes, before rounding to pages).
  static constexpr std::size_t min_stack_size = 16 * 1024;
  static constexpr std::size_t max_stack_size = std::size_t{1} << 30;
  static constexpr std::size_t default_stack_size = 256 * 1024;

  fiber_context() noexcept = default;
  fiber_context(const fiber_context&) = delete;
  fiber_context& operator=(const fiber_context&) = delete;
  /// Precondition: not created, or finished (a suspended fiber must be run to its end first:
  /// its stack holds objects that nobody else can destroy). Violations abort with a message.
  CORIO_API ~fiber_context();

  /// Maps (or takes from the pool) a stack of `stack_size` usable bytes, rounded up to pages,
  /// and prepares `fn(arg)` to run on it at the first resume(). Throws std::invalid_argument
  /// for a size outside [min_stack_size, max_stack_size], std::system_error if the kernel
  /// refuses the mapping (address space, vm.max_map_count).
  CORIO_API void create(std::size_t stack_size, entry_fn fn, void* arg);

  /// Driver side: switches to the fiber and returns when it calls suspend() or `fn` returns.
  /// When `fn` has returned, finished() is true and the stack has been given back already.
  CORIO_API void resume();

  /// Fiber side: switches back to the resume() that is running this fiber. Returns when the
  /// next resume() (possibly on another thread) switches in again.
  CORIO_API void suspend() noexcept;

  bool created() const noexcept { return fn_ != nullptr; }
  bool finished() const noexcept { return finished_; }
  /// Usable bytes of the stack (after rounding).
  std::size_t stack_size() const noexcept { return usable_; }

  /// Usable bytes a request of `n` turns into (rounded up to whole pages).
  CORIO_TEST_API static std::size_t rounded_stack_size(std::size_t n) noexcept;
  /// Stacks parked in the pools now (all threads' caches and the global pool), for tests.
  CORIO_TEST_API static std::size_t pooled_stacks() noexcept;

 private:
  friend struct fiber_context_access;  // fiber_context.cpp: the entry trampoline
  void release_stack() noexcept;

  void* fctx_ = nullptr;    // the fiber's saved registers, while it is suspended
  void* caller_ = nullptr;  // the driver's saved registers, while the fiber runs
  entry_fn fn_ = nullptr;
  void* arg_ = nullptr;
  void* mapping_ = nullptr;  // lowest address: the guard region, then the stack
  std::size_t mapping_size_ = 0;
  std::size_t usable_ = 0;  // what was asked for, in pages (the stack has up to a page more)
  bool started_ = false;   // resumed at least once: `fn` is on the stack
  bool running_ = false;   // between resume() and its return
  bool finished_ = false;  // `fn` returned
  // The C++ runtime's per-thread exception state while the fiber is switched out.
  void* eh_caught_ = nullptr;
  unsigned int eh_uncaught_ = 0;
  // Sanitizer state (unused in other builds; always present so the layout never depends on
  // the flags a file was compiled with).
  void* asan_fake_stack_ = nullptr;  // the fiber's fake stack while it is switched out
  const void* caller_stack_bottom_ = nullptr;
  std::size_t caller_stack_size_ = 0;
  void* tsan_fiber_ = nullptr;
  void* tsan_caller_ = nullptr;
};

}  // namespace corio::detail
