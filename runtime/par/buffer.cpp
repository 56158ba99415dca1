// Storage for par::buffer and the sorts' scratch arrays (buffer.hpp).
//
// Page population: MADV_POPULATE_WRITE (Linux 5.14) maps and zeroes the pages of a range in one
// call instead of one page fault each; where the kernel lacks it (EINVAL) it is not tried again
// and the writes fault the pages in as usual.
//
// Bulk allocations are their own anonymous mappings, aligned to 2 MiB so that every whole
// 2 MiB stretch of them can be a transparent huge page, and marked MADV_HUGEPAGE (which the
// kernel honours when THP is "always" or "madvise", and ignores when it is "never"). The
// mapping is rounded up to whole 2 MiB units; the waste is under 2 MiB on at least 4 MiB.

#include "buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <new>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace corio::par::detail {

namespace {
std::atomic<bool> populate_unsupported{false};

constexpr std::size_t huge_page = std::size_t{2} << 20;

constexpr std::size_t round_up(std::size_t n, std::size_t unit) noexcept { return (n + unit - 1) / unit * unit; }

bool is_bulk(std::size_t bytes, std::size_t align) noexcept { return bytes >= bulk_min_bytes && align <= huge_page; }
}  // namespace

void prefault_for_write(void* p, std::size_t bytes) noexcept {
  if (populate_unsupported.load(std::memory_order_relaxed)) return;
  static const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(page - 1);
  if (end <= begin) return;
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
    populate_unsupported.store(true, std::memory_order_relaxed);
}

void* allocate_bulk(std::size_t bytes, std::size_t align) {
  if (!is_bulk(bytes, align)) return ::operator new(bytes, std::align_val_t{align});
  if (bytes > SIZE_MAX / 2) throw std::bad_alloc();
  const std::size_t len = round_up(bytes, huge_page);
  // Map one huge page more than needed, then give back the unaligned head and the tail.
  void* raw = mmap(nullptr, len + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const auto aligned = round_up(start, huge_page);
  if (aligned > start) munmap(raw, aligned - start);
  if (const std::size_t tail = start + huge_page - aligned) munmap(reinterpret_cast<void*>(aligned + len), tail);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, len, MADV_HUGEPAGE);  // a hint: EINVAL where THP is compiled out changes nothing
  return p;
}

void deallocate_bulk(void* p, std::size_t bytes, std::size_t align) noexcept {
  if (!p) return;
  if (!is_bulk(bytes, align)) {
    ::operator delete(p, std::align_val_t{align});
    return;
  }
  munmap(p, round_up(bytes, huge_page));
}

}  // namespace corio::par::detail
