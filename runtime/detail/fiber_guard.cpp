// Fiber stack overflow reports; see fiber_guard.hpp.
//
// The handler runs on the faulting thread's alternate signal stack (the fiber's own stack is
// what overflowed). It writes one line with write(2), async-signal-safe formatting only, then
// restores the default action: a fault re-executes the faulting instruction and dies of it
// (with a core dump where enabled); a signal sent with kill() is raised again.

#include "fiber_guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "fiber_stack.hpp"

namespace corio::detail {

namespace {

thread_local const running_fiber* tls_running = nullptr;
std::atomic<bool> handler_installed{false};

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

namespace {

void on_segv(int sig, siginfo_t* info, void*) noexcept {
  const int saved_errno = errno;
  const running_fiber* f = tls_running;
  if (f && f->mapping && info && info->si_code > 0) {
    auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    auto lo = reinterpret_cast<std::uintptr_t>(f->mapping);
    auto guard_end = lo + guard_size();
    constexpr std::uintptr_t slack = 64 * 1024;  // a big frame may have skipped the guard
    if (addr < guard_end && addr + slack >= lo) {
      char msg[256];
      std::size_t len = 0;
      append_text(msg, sizeof msg, &len, "corio: fiber stack overflow: the fiber ran past the end of its ");
      append_number(msg, sizeof msg, &len, f->usable / 1024);
      append_text(msg, sizeof msg, &len,
                  " KiB stack into the guard page (raise corio::fiber_options::stack_size, or recurse less)\n");
      ssize_t ignored = ::write(STDERR_FILENO, msg, len);
      static_cast<void>(ignored);
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  if (!info || info->si_code <= 0) ::raise(sig);
  errno = saved_errno;
}

}  // namespace

void install_overflow_handler_if_default() noexcept {
  struct sigaction old {};
  if (::sigaction(SIGSEGV, nullptr, &old) != 0) return;
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction == &on_segv) handler_installed.store(true, std::memory_order_release);
    return;
  }
  if (old.sa_handler != SIG_DFL) return;  // someone else's
  struct sigaction sa {};
  sa.sa_sigaction = &on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGSEGV, &sa, nullptr) == 0) handler_installed.store(true, std::memory_order_release);
}

bool overflow_handler_installed() noexcept { return handler_installed.load(std::memory_order_relaxed); }

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

const running_fiber* exchange_running_fiber(const running_fiber* f) noexcept {
  const running_fiber* old = tls_running;
  tls_running = f;
  return old;
}

}  // namespace corio::detail
