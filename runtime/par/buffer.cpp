// Page population for par::buffer (buffer.hpp). MADV_POPULATE_WRITE (Linux 5.14) maps and
// zeroes the pages of a range in one call instead of one page fault each; where the kernel
// lacks it (EINVAL) it is not tried again and the writes fault the pages in as usual.

#include "buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace corio::par::detail {

namespace {
std::atomic<bool> populate_unsupported{false};
}

void prefault_for_write(void* p, std::size_t bytes) noexcept {
  if (populate_unsupported.load(std::memory_order_relaxed)) return;
  static const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(page - 1);
  if (end <= begin) return;
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
    populate_unsupported.store(true, std::memory_order_relaxed);
}

}  // namespace corio::par::detail
