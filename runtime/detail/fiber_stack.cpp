// Fiber stacks and their pool; see fiber_stack.hpp.
//
// Thread exit: a thread's cache is trivially destructible, so it can still be used (as "gone",
// `flushed`) while the thread's other thread-locals are destroyed; a second thread-local, armed
// by the first give-back, flushes it into the global pool. The global pool is never destroyed:
// worker threads flush into it at exit, which may be after static destruction has begun.

#include "fiber_stack.hpp"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <system_error>
#include <vector>

#include "fiber_guard.hpp"
#include "sanitizers.hpp"

#if CORIO_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace corio::detail {

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

std::size_t guard_size() noexcept { return round_to_pages(16 * 1024); }

namespace {

constexpr std::size_t thread_cache_cap = 16;
constexpr std::size_t global_pool_cap = 256;

std::atomic<std::size_t> pooled_count{0};

struct global_pool {
  std::mutex mutex;
  std::vector<stack_block> blocks;
};
global_pool& the_global_pool() {
  static global_pool* p = new global_pool;
  return *p;
}

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

}  // namespace

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

std::size_t pooled_stack_count() noexcept { return pooled_count.load(std::memory_order_relaxed); }

}  // namespace corio::detail
