// fiber_context: Boost.Context's fcontext layer, stacks, and the bookkeeping around a switch.
//
// Why the fcontext layer and not boost::context::fiber: `fiber` is built on these same three
// assembly routines (make_fcontext, jump_fcontext, ontop_fcontext), but its constructor
// already jumps onto the new stack and back once, and its destructor unwinds with an
// exception type of its own; neither can be told to the sanitizers, and corio unwinds fibers
// with its own exception (corio::fiber_unwinding) anyway. With the raw layer every switch is
// one jump_fcontext, bracketed by exactly the annotations it needs. Debian's libboost-context
// is the fcontext build (jump_fcontext is exported by libboost_context.so); the ucontext
// variant, which has Boost's own ASan support, is not needed since we annotate ourselves.
//
// One switch, driver -> fiber -> driver:
//   resume()  [driver stack]                      entry / suspend()  [fiber stack]
//     swap in the fiber's C++ exception state
//     asan: start_switch(save driver fake stack,
//                        fiber stack bounds)
//     tsan: remember the caller, switch to ours
//     jump_fcontext(fiber, this) --------------->  asan: finish_switch(restore fiber fake
//                                                        stack, learn the caller's bounds)
//                                                  ...fiber code runs...
//                                                  asan: start_switch(save fiber fake stack,
//                                                        caller's bounds)
//                                                  tsan: switch to the caller
//     <--------------------------------------------  jump_fcontext(caller)
//     asan: finish_switch(restore driver fake stack)
//     swap the fiber's exception state back out
// The caller's stack bounds are learnt at every switch in, since the next resume() may come
// from another thread. When the entry function returns, the last switch out passes no fake
// stack to save (ASan frees it) and the driver gives the stack back to the pool.
//
// The parts around the switch live beside this file: the stacks and their pool in
// fiber_stack.*, the overflow report (guard regions, alternate signal stacks, the SIGSEGV
// handler) in fiber_guard.*, the C++ exception state that is swapped in fiber_eh.hpp. This
// file holds the switch itself with its sanitizer annotations.
//
// Thread-locals: the fiber side of this file reads none (its code may continue on another
// thread after a jump, and compilers keep thread-local addresses in registers across calls).
// resume() reads them, but it always returns on the thread it was called on.

#include "fiber_context.hpp"

#include <fmt/format.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "fiber_eh.hpp"
#include "fiber_guard.hpp"
#include "fiber_stack.hpp"
#include "sanitizers.hpp"

#if CORIO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if CORIO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace corio::detail {

namespace bctx = boost::context::detail;

namespace {

[[noreturn]] void fatal(const char* msg) noexcept {
  std::fprintf(stderr, "corio: fatal: %s\n", msg);
  std::fflush(stderr);
  std::abort();
}

}  // namespace

struct fiber_context_access {
  static void entry(bctx::transfer_t t) noexcept;
};

void fiber_context_access::entry(bctx::transfer_t t) noexcept {
  auto* self = static_cast<fiber_context*>(t.data);
  self->caller_ = t.fctx;
#if CORIO_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &self->caller_stack_bottom_, &self->caller_stack_size_);
#endif
  self->fn_(self->arg_);
  self->finished_ = true;
#if CORIO_ASAN
  __sanitizer_start_switch_fiber(nullptr, self->caller_stack_bottom_, self->caller_stack_size_);  // frees our fake stack
#endif
#if CORIO_TSAN
  __tsan_switch_to_fiber(self->tsan_caller_, 0);
#endif
  bctx::jump_fcontext(self->caller_, nullptr);
  fatal("a finished fiber was resumed");
}

std::size_t fiber_context::rounded_stack_size(std::size_t n) noexcept { return round_to_pages(n); }

std::size_t fiber_context::pooled_stacks() noexcept { return pooled_stack_count(); }

fiber_context::~fiber_context() {
  if (started_ && !finished_) fatal("a fiber_context was destroyed while its fiber was suspended (its stack was not unwound)");
  if (mapping_) release_stack();
}

void fiber_context::create(std::size_t stack_size, entry_fn fn, void* arg) {
  if (created()) fatal("fiber_context::create called twice");
  if (stack_size < min_stack_size || stack_size > max_stack_size)
    throw std::invalid_argument(fmt::format("corio: fiber stack size {} is out of range {}..{} bytes", stack_size,
                                            min_stack_size, max_stack_size));
  const std::size_t usable = round_to_pages(stack_size);
  // One page more than asked for, to start each stack at a different cache-line offset in
  // its top page ("colouring"): otherwise the hot top frames of every fiber share the same
  // few L1 sets, and a few dozen fibers evict each other at every switch.
  const std::size_t total = guard_size() + usable + page_size();
  stack_block b = take_stack(total, usable);
  mapping_ = b.mapping;
  mapping_size_ = total;
  usable_ = usable;
  static thread_local unsigned next_colour = 0;
  const std::size_t colour = (next_colour++ % (page_size() / 64)) * 64;
  void* top = static_cast<char*>(mapping_) + total - colour;
  fctx_ = bctx::make_fcontext(top, total - guard_size() - colour, &fiber_context_access::entry);
  fn_ = fn;
  arg_ = arg;
#if CORIO_TSAN
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
}

void fiber_context::resume() {
  if (!created() || finished_ || running_) fatal("fiber_context::resume on a fiber that is not suspended");
  running_ = true;
  started_ = true;
  if (overflow_handler_installed()) ensure_alt_stack();
  eh_globals* g = thread_eh_globals();
  const eh_globals driver_eh = *g;
  g->caught = eh_caught_;
  g->uncaught = eh_uncaught_;
  const running_fiber running{mapping_, usable_};
  const running_fiber* outer = exchange_running_fiber(&running);
#if CORIO_ASAN
  void* driver_fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&driver_fake_stack, static_cast<char*>(mapping_) + guard_size(), mapping_size_ - guard_size());
#endif
#if CORIO_TSAN
  tsan_caller_ = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_fiber_, 0);
#endif
  bctx::transfer_t t = bctx::jump_fcontext(fctx_, this);
#if CORIO_ASAN
  __sanitizer_finish_switch_fiber(driver_fake_stack, nullptr, nullptr);
#endif
  fctx_ = t.fctx;
  exchange_running_fiber(outer);
  eh_caught_ = g->caught;
  eh_uncaught_ = g->uncaught;
  *g = driver_eh;
  running_ = false;
  if (finished_) release_stack();
}

void fiber_context::suspend() noexcept {
#if CORIO_ASAN
  __sanitizer_start_switch_fiber(&asan_fake_stack_, caller_stack_bottom_, caller_stack_size_);
#endif
#if CORIO_TSAN
  __tsan_switch_to_fiber(tsan_caller_, 0);
#endif
  bctx::transfer_t t = bctx::jump_fcontext(caller_, nullptr);
  caller_ = t.fctx;
#if CORIO_ASAN
  __sanitizer_finish_switch_fiber(asan_fake_stack_, &caller_stack_bottom_, &caller_stack_size_);
#endif
}

void fiber_context::release_stack() noexcept {
  give_back_stack({mapping_, mapping_size_});
  mapping_ = nullptr;
  fctx_ = nullptr;
#if CORIO_TSAN
  if (tsan_fiber_) __tsan_destroy_fiber(std::exchange(tsan_fiber_, nullptr));
#endif
}

}  // namespace corio::detail
