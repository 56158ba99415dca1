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
// Thread-locals: the fiber side of this file reads none (its code may continue on another
// thread after a jump, and compilers keep thread-local addresses in registers across calls).
// resume() reads them, but it always returns on the thread it was called on.

#include "fiber_context.hpp"

#include "sanitizers.hpp"

#include <cxxabi.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <boost/context/detail/fcontext.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

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

std::size_t page_size() noexcept {
  static const std::size_t p = [] {
    long v = ::sysconf(_SC_PAGESIZE);
    return v > 0 ? static_cast<std::size_t>(v) : std::size_t{4096};
  }();
  return p;
}

std::size_t round_to_pages(std::size_t n) noexcept {
  const std::size_t p = page_size();
  return (n + p - 1) / p * p;
}

/// Inaccessible bytes below every stack. More than one page, so that a frame somewhat larger
/// than a page (a local buffer) still lands in it instead of jumping over it; a frame larger
/// than the whole guard can still skip it unless the code is compiled with
/// -fstack-clash-protection.
std::size_t guard_size() noexcept { return round_to_pages(16 * 1024); }

// ---------------------------------------------------------------------------------------------
// The C++ runtime's per-thread exception state (Itanium C++ ABI, 2.2.2: __cxa_eh_globals is
// { caughtExceptions, uncaughtExceptions }, in libstdc++'s libsupc++ and in libc++abi alike).
// A fiber that suspends inside a catch block has its exception on the thread's caught list;
// it must leave with the fiber and come back wherever the fiber resumes, or the catch block's
// end would pop another thread's exception.

struct eh_globals {
  void* caught;
  unsigned int uncaught;
};

// __cxa_get_globals is declared __attribute__((const)); the empty asm keeps the optimiser
// from treating this wrapper as const too and reusing one thread's answer on another.
[[gnu::noinline]] eh_globals* thread_eh_globals() noexcept {
  asm volatile("" ::: "memory");
  return reinterpret_cast<eh_globals*>(abi::__cxa_get_globals());
}

// ---------------------------------------------------------------------------------------------
// Stack pool: exact-size reuse. A thread cache of a few stacks (no lock) in front of a global
// pool (one mutex); stacks beyond both caps go back to the kernel.

struct stack_block {
  void* mapping = nullptr;
  std::size_t total = 0;  // guard + stack: the whole mapping
};

constexpr std::size_t thread_cache_cap = 16;
constexpr std::size_t global_pool_cap = 256;

std::atomic<std::size_t> pooled_count{0};

struct global_pool {
  std::mutex mutex;
  std::vector<stack_block> blocks;
};
// Never destroyed: worker threads flush their caches into it at exit, which may be after
// static destruction has begun.
global_pool& the_global_pool() {
  static global_pool* p = new global_pool;
  return *p;
}

// Trivially destructible, so it can still be used (as "gone") during thread exit.
struct thread_cache {
  stack_block blocks[thread_cache_cap];
  std::size_t n;
  bool flushed;  // the thread is exiting: bypass the cache
};
thread_local thread_cache tls_stack_cache;

void unmap(stack_block b) noexcept { ::munmap(b.mapping, b.total); }

void flush_to_global(stack_block b) noexcept {
  global_pool& g = the_global_pool();
  {
    std::lock_guard lock(g.mutex);
    if (g.blocks.size() < global_pool_cap) {
      try {
        g.blocks.push_back(b);
        pooled_count.fetch_add(1, std::memory_order_relaxed);
        return;
      } catch (...) {  // out of memory for the vector: unmap instead
      }
    }
  }
  unmap(b);
}

struct thread_cache_flusher {
  bool armed = false;
  ~thread_cache_flusher() {
    thread_cache& c = tls_stack_cache;
    c.flushed = true;
    while (c.n > 0) {
      stack_block b = c.blocks[--c.n];
      pooled_count.fetch_sub(1, std::memory_order_relaxed);
      flush_to_global(b);
    }
  }
};
thread_local thread_cache_flusher tls_stack_cache_flusher;

void install_overflow_handler_if_default() noexcept;

stack_block map_stack(std::size_t total, std::size_t usable) {
  install_overflow_handler_if_default();
  void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("corio: cannot map a fiber stack of {} KiB", usable / 1024));
  if (::mprotect(p, guard_size(), PROT_NONE) != 0) {
    int e = errno;
    ::munmap(p, total);
    throw std::system_error(e, std::generic_category(),
                            fmt::format("corio: cannot protect the guard region of a fiber stack of {} KiB", usable / 1024));
  }
  return {p, total};
}

stack_block take_stack(std::size_t total, std::size_t usable) {
  thread_cache& c = tls_stack_cache;
  for (std::size_t i = c.n; i-- > 0;) {
    if (c.blocks[i].total == total) {
      stack_block b = c.blocks[i];
      c.blocks[i] = c.blocks[--c.n];
      pooled_count.fetch_sub(1, std::memory_order_relaxed);
      return b;
    }
  }
  global_pool& g = the_global_pool();
  {
    std::lock_guard lock(g.mutex);
    for (std::size_t i = g.blocks.size(); i-- > 0;) {
      if (g.blocks[i].total == total) {
        stack_block b = g.blocks[i];
        g.blocks[i] = g.blocks.back();
        g.blocks.pop_back();
        pooled_count.fetch_sub(1, std::memory_order_relaxed);
        return b;
      }
    }
  }
  return map_stack(total, usable);
}

void give_back_stack(stack_block b) noexcept {
#if CORIO_ASAN
  // Frames that never returned (the entry trampoline) leave poisoned redzones behind.
  __asan_unpoison_memory_region(static_cast<char*>(b.mapping) + guard_size(), b.total - guard_size());
#endif
  thread_cache& c = tls_stack_cache;
  if (!c.flushed && c.n < thread_cache_cap) {
    tls_stack_cache_flusher.armed = true;  // first use registers the flush at thread exit
    c.blocks[c.n++] = b;
    pooled_count.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  flush_to_global(b);
}

// ---------------------------------------------------------------------------------------------
// Stack overflow report (see the header). The fiber running on this thread, if any, is kept
// in a thread-local by resume() on the driver side, where it is read and written on one thread.

thread_local const fiber_context* tls_running = nullptr;
std::atomic<bool> overflow_handler_installed{false};

constexpr std::size_t alt_stack_size = 64 * 1024;

struct alt_stack_owner {
  void* mem = nullptr;
  ~alt_stack_owner() {
    if (!mem) return;
    stack_t cur{};
    if (::sigaltstack(nullptr, &cur) == 0 && cur.ss_sp == mem && !(cur.ss_flags & SS_ONSTACK)) {
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      ::sigaltstack(&off, nullptr);
    }
    ::munmap(mem, alt_stack_size);
  }
};
thread_local bool tls_alt_stack_checked = false;
thread_local alt_stack_owner tls_alt_stack;

void ensure_alt_stack() noexcept {
  if (tls_alt_stack_checked) return;
  tls_alt_stack_checked = true;
  stack_t cur{};
  if (::sigaltstack(nullptr, &cur) != 0 || !(cur.ss_flags & SS_DISABLE)) return;  // the thread has one
  void* mem = ::mmap(nullptr, alt_stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;  // no report on this thread; the fault still kills the process
  stack_t alt{};
  alt.ss_sp = mem;
  alt.ss_size = alt_stack_size;
  if (::sigaltstack(&alt, nullptr) != 0) {
    ::munmap(mem, alt_stack_size);
    return;
  }
  tls_alt_stack.mem = mem;
}

/// Appends the decimal digits of v to buf at *len (async-signal-safe formatting).
void append_number(char* buf, std::size_t cap, std::size_t* len, std::size_t v) noexcept {
  char digits[24];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof digits);
  while (n > 0 && *len < cap) buf[(*len)++] = digits[--n];
}

void append_text(char* buf, std::size_t cap, std::size_t* len, const char* s) noexcept {
  while (*s && *len < cap) buf[(*len)++] = *s++;
}

}  // namespace

struct fiber_context_access {
  static void entry(bctx::transfer_t t) noexcept;
  static void on_segv(int sig, siginfo_t* info, void* uctx) noexcept;
};

void fiber_context_access::on_segv(int sig, siginfo_t* info, void*) noexcept {
  const int saved_errno = errno;
  const fiber_context* f = tls_running;
  if (f && f->mapping_ && info && info->si_code > 0) {
    auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    auto lo = reinterpret_cast<std::uintptr_t>(f->mapping_);
    auto guard_end = lo + guard_size();
    constexpr std::uintptr_t slack = 64 * 1024;  // a big frame may have skipped the guard
    if (addr < guard_end && addr + slack >= lo) {
      char msg[256];
      std::size_t len = 0;
      append_text(msg, sizeof msg, &len, "corio: fiber stack overflow: the fiber ran past the end of its ");
      append_number(msg, sizeof msg, &len, f->usable_ / 1024);
      append_text(msg, sizeof msg, &len,
                  " KiB stack into the guard page (raise corio::fiber_options::stack_size, or recurse less)\n");
      ssize_t ignored = ::write(STDERR_FILENO, msg, len);
      static_cast<void>(ignored);
    }
  }
  // Back to the default action. A fault re-executes the faulting instruction and dies of it
  // (with a core dump where enabled); a signal sent with kill() is raised again.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  if (!info || info->si_code <= 0) ::raise(sig);
  errno = saved_errno;
}

namespace {
// Called whenever a new stack is mapped (rarely, thanks to the pool): installs the handler if
// the disposition is the default one then. Two threads racing here install the same handler.
void install_overflow_handler_if_default() noexcept {
  struct sigaction old {};
  if (::sigaction(SIGSEGV, nullptr, &old) != 0) return;
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction == &fiber_context_access::on_segv) overflow_handler_installed.store(true, std::memory_order_release);
    return;
  }
  if (old.sa_handler != SIG_DFL) return;  // someone else's
  struct sigaction sa {};
  sa.sa_sigaction = &fiber_context_access::on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGSEGV, &sa, nullptr) == 0) overflow_handler_installed.store(true, std::memory_order_release);
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// fiber_context

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

std::size_t fiber_context::pooled_stacks() noexcept { return pooled_count.load(std::memory_order_relaxed); }

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
  if (overflow_handler_installed.load(std::memory_order_relaxed)) ensure_alt_stack();
  eh_globals* g = thread_eh_globals();
  const eh_globals driver_eh = *g;
  g->caught = eh_caught_;
  g->uncaught = eh_uncaught_;
  const fiber_context* outer = std::exchange(tls_running, this);
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
  tls_running = outer;
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
