// Coroutine-frame allocator; see frame_alloc.hpp for the contract.
//
// Layout of the pool:
//   thread cache  one LIFO free list per size class (thread_local, no synchronisation).
//   depot         per class, a mutex-protected stack of full batches (exactly batch_size
//                 blocks) plus one partial list of fewer than batch_size loose blocks.
//   chunks        64 KiB, carved into blocks of one class, never returned; cut in turn from
//                 2 MiB regions mapped at 2 MiB boundaries with MADV_HUGEPAGE, so that where
//                 transparent huge pages are on (always, or madvise as Debian ships) the
//                 fresh memory of many spawned frames costs one page fault per 2 MiB, not
//                 one per 4 KiB (a page fault dominated spawning 100,000 fresh tasks).
//
// A block belongs to exactly one of: a user, one thread cache list, one depot list.
//
// Fault injection: with an allocation fault armed (fault.hpp), frame_alloc fails
// with std::bad_alloc as told; a region the kernel refuses (mmap) is std::bad_alloc too.
// Without the pool (sanitizers) frames go to ::operator new directly, where a test's
// replacement counts them.

#include "frame_alloc.hpp"

#include "fault.hpp"
#include "sanitizers.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#if defined(CORIO_NO_FRAME_POOL) || CORIO_ASAN || CORIO_TSAN
#define CORIO_FRAME_POOL_ACTIVE 0
#else
#define CORIO_FRAME_POOL_ACTIVE 1
#endif

namespace corio::detail {

#if CORIO_FRAME_POOL_ACTIVE

namespace {

constexpr std::size_t small_limit = 512;    // classes step by 16 bytes up to here
constexpr std::size_t medium_limit = 2048;  // then by 64 bytes; larger sizes bypass the pool
constexpr unsigned small_classes = small_limit / 16;
constexpr unsigned class_count = small_classes + (medium_limit - small_limit) / 64;
constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t region_size = 2 * 1024 * 1024;  // one transparent huge page (x86-64, arm64 4K)
static_assert(region_size % chunk_size == 0);

constexpr std::size_t batch_size = 64;
// A thread list never holds more than cache_cap blocks while the cache is live.
constexpr std::size_t cache_cap = 4 * batch_size;
// After carving a chunk, a thread keeps at most this many spare blocks; the rest go to the depot.
constexpr std::size_t refill_keep = 2 * batch_size;

/// Class of a request of `size` bytes, 0 <= size <= medium_limit (size 0 shares class 0).
constexpr unsigned class_of(std::size_t size) noexcept {
  return size <= small_limit
             ? static_cast<unsigned>((size - (size != 0)) >> 4)
             : small_classes + static_cast<unsigned>((size - small_limit - 1) >> 6);
}

/// Block size of class `c`: a multiple of 16, so every block of a 16-aligned chunk is 16-aligned.
constexpr std::size_t class_size(unsigned c) noexcept {
  return c < small_classes ? (c + 1) * std::size_t{16}
                           : small_limit + (c - small_classes + 1) * std::size_t{64};
}

static_assert(class_of(1) == 0 && class_of(16) == 0 && class_of(17) == 1);
static_assert(class_of(small_limit) == small_classes - 1 && class_of(small_limit + 1) == small_classes);
static_assert(class_of(medium_limit) == class_count - 1);
static_assert(class_size(class_of(small_limit + 1)) == small_limit + 64);
static_assert(class_size(class_count - 1) == medium_limit);
static_assert(chunk_size / class_size(class_count - 1) >= 1);

/// The view of a free block. The smallest class is 16 bytes, so both words always fit.
struct block {
  block* next_;        // next block of the same list; the last block of a list holds null
  block* next_batch_;  // meaningful only on the first block of a full batch in the depot
};
static_assert(sizeof(block) <= 16);

/// A null-terminated list of `count` blocks.
struct block_list {
  block* head = nullptr;
  std::size_t count = 0;
};

/// Detaches the first `n` blocks (1 <= n <= list.count) of `list` as a list of their own.
block_list take_prefix(block_list& list, std::size_t n) noexcept {
  block* first = list.head;
  block* last = first;
  for (std::size_t i = 1; i < n; ++i) last = last->next_;
  list.head = last->next_;
  list.count -= n;
  last->next_ = nullptr;
  return {first, n};
}

struct alignas(64) depot_class {
  std::mutex mutex_;
  block* full_ = nullptr;  // stack of batches of exactly batch_size blocks, via next_batch_
  std::size_t full_count_ = 0;
  block* partial_ = nullptr;  // fewer than batch_size loose blocks
  std::size_t partial_count_ = 0;
};

struct global_state {
  depot_class depot_[class_count];
  std::mutex chunk_mutex_;
  // Every chunk ever taken. Chunks are never freed; this keeps them reachable for leak checkers.
  std::vector<void*> chunks_;
  unsigned char* region_next_ = nullptr;  // the current region's next unused chunk
  std::size_t region_left_ = 0;           // bytes left in it
};

// Constant-initialised (usable before any dynamic initialiser runs) and never destroyed
// (usable from static destructors and late thread exits).
template <class T>
union never_destroyed {
  constexpr never_destroyed() : value_() {}
  ~never_destroyed() {}
  T value_;
};
constinit never_destroyed<global_state> g_state;

/// Gives `list` (any length) to the depot: full batches are cut before taking the lock, the
/// remainder joins the partial list, which is promoted to a full batch when it fills up.
void depot_put(unsigned c, block_list list) noexcept {
  block* first_batch = nullptr;
  block* last_batch = nullptr;
  std::size_t batches = 0;
  while (list.count >= batch_size) {
    block* b = take_prefix(list, batch_size).head;
    b->next_batch_ = nullptr;
    (last_batch ? last_batch->next_batch_ : first_batch) = b;
    last_batch = b;
    ++batches;
  }
  depot_class& d = g_state.value_.depot_[c];
  std::lock_guard lock(d.mutex_);
  if (first_batch) {
    last_batch->next_batch_ = d.full_;
    d.full_ = first_batch;
    d.full_count_ += batches;
  }
  block* b = list.head;
  for (std::size_t i = 0; i < list.count; ++i) {
    block* next = b->next_;
    b->next_ = d.partial_;
    d.partial_ = b;
    if (++d.partial_count_ == batch_size) {
      d.partial_->next_batch_ = d.full_;
      d.full_ = d.partial_;
      ++d.full_count_;
      d.partial_ = nullptr;
      d.partial_count_ = 0;
    }
    b = next;
  }
}

/// Takes a full batch if there is one, otherwise the whole partial list; empty if the depot
/// holds nothing of class `c`.
block_list depot_take(unsigned c) noexcept {
  depot_class& d = g_state.value_.depot_[c];
  std::lock_guard lock(d.mutex_);
  if (block* b = d.full_) {
    d.full_ = b->next_batch_;
    --d.full_count_;
    return {b, batch_size};
  }
  block_list list{d.partial_, d.partial_count_};
  d.partial_ = nullptr;
  d.partial_count_ = 0;
  return list;
}

/// Maps a new region of region_size bytes at a region_size boundary (a huge page must be
/// aligned: twice the size is mapped and the ends are given back) and asks for huge pages
/// (best effort: without them it is ordinary memory). Throws std::bad_alloc if refused.
unsigned char* map_region() {
  std::size_t const span = 2 * region_size;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto const start = reinterpret_cast<std::uintptr_t>(p);
  auto const begin = (start + region_size - 1) & ~(region_size - 1);
  auto const end = begin + region_size;
  if (begin > start) ::munmap(p, begin - start);
  if (start + span > end) ::munmap(reinterpret_cast<void*>(end), start + span - end);
  (void)::madvise(reinterpret_cast<void*>(begin), region_size, MADV_HUGEPAGE);
  return reinterpret_cast<unsigned char*>(begin);
}

/// Takes a new chunk and carves all of it into blocks of class `c`, in address order.
block_list carve_chunk(unsigned c) {
  global_state& g = g_state.value_;
  void* chunk = nullptr;
  {
    std::lock_guard lock(g.chunk_mutex_);
    if (g.chunks_.size() == g.chunks_.capacity())  // room first (may throw; nothing taken yet)
      g.chunks_.reserve(std::max<std::size_t>(64, 2 * g.chunks_.capacity()));
    if (g.region_left_ < chunk_size) {
      g.region_next_ = map_region();
      g.region_left_ = region_size;
    }
    chunk = g.region_next_;
    g.region_next_ += chunk_size;
    g.region_left_ -= chunk_size;
    g.chunks_.push_back(chunk);
  }
  std::size_t const bytes = class_size(c);
  std::size_t const n = chunk_size / bytes;
  auto* base = static_cast<unsigned char*>(chunk);
  block* next = nullptr;
  for (std::size_t i = n; i-- > 0;) {
    block* b = ::new (base + i * bytes) block;
    b->next_ = next;
    next = b;
  }
  return {next, n};
}

enum class cache_state : std::uint8_t {
  fresh,  // this thread has not used the pool yet
  live,   // the exit guard is armed
  dead,   // the cache was flushed at thread exit; it stays empty and unused from now on
};

// Invariant: every list is empty unless state_ == live, so frame_alloc's fast path needs no
// state check; free_limit_ is 0 unless live, so frame_free's fast path needs none either.
struct thread_cache {
  block* heads_[class_count];
  std::uint32_t counts_[class_count];
  std::uint32_t free_limit_;  // cache_cap while live
  cache_state state_;
};
// Trivially destructible, so it stays accessible during (and after) thread_local destruction.
constinit thread_local thread_cache t_cache{};

void flush_thread_cache() noexcept {
  thread_cache& tc = t_cache;
  tc.state_ = cache_state::dead;
  tc.free_limit_ = 0;
  for (unsigned c = 0; c < class_count; ++c) {
    if (tc.counts_[c] != 0) depot_put(c, {tc.heads_[c], tc.counts_[c]});
    tc.heads_[c] = nullptr;
    tc.counts_[c] = 0;
  }
}

// Flushes the cache when the thread exits. Armed on the thread's first pool call, so any
// thread_local constructed earlier is destroyed after the flush and meets a dead cache.
struct cache_guard {
  bool armed_ = false;
  ~cache_guard() {
    if (armed_) flush_thread_cache();
  }
};
thread_local cache_guard t_guard;

void arm(thread_cache& tc) noexcept {
  t_guard.armed_ = true;  // the first access registers the guard's destructor
  tc.state_ = cache_state::live;
  tc.free_limit_ = cache_cap;
}

/// Allocation for a thread whose cache is gone: go through the depot directly.
void* alloc_without_cache(unsigned c) {
  block_list list = depot_take(c);
  if (!list.head) list = carve_chunk(c);
  block* b = list.head;
  list.head = b->next_;
  if (--list.count != 0) depot_put(c, list);
  return b;
}

/// frame_alloc with an empty list for class `c`.
[[gnu::noinline]] void* alloc_slow(unsigned c) {
  thread_cache& tc = t_cache;
  if (tc.state_ == cache_state::dead) return alloc_without_cache(c);
  if (tc.state_ == cache_state::fresh) arm(tc);
  block_list list = depot_take(c);
  if (!list.head) {
    list = carve_chunk(c);
    if (list.count > refill_keep + 1) {
      block_list keep = take_prefix(list, refill_keep + 1);
      depot_put(c, list);
      list = keep;
    }
  }
  block* b = list.head;
  tc.heads_[c] = b->next_;
  tc.counts_[c] = static_cast<std::uint32_t>(list.count - 1);
  return b;
}

/// frame_free when the cache is not live or the list for class `c` is at cache_cap.
[[gnu::noinline]] void free_slow(unsigned c, void* p) noexcept {
  thread_cache& tc = t_cache;
  switch (tc.state_) {
    case cache_state::dead: {
      block* b = ::new (p) block;
      b->next_ = nullptr;
      depot_put(c, {b, 1});
      return;
    }
    case cache_state::fresh:
      arm(tc);
      break;
    case cache_state::live: {
      // Make room before pushing, so `p` stays at the head and is the next block handed out.
      block_list list{tc.heads_[c], tc.counts_[c]};
      depot_put(c, take_prefix(list, batch_size));
      tc.heads_[c] = list.head;
      tc.counts_[c] = static_cast<std::uint32_t>(list.count);
      break;
    }
  }
  block* b = ::new (p) block;
  b->next_ = tc.heads_[c];
  tc.heads_[c] = b;
  ++tc.counts_[c];
}

}  // namespace

void* frame_alloc(std::size_t size) {
  if (fault::allocation_fails()) [[unlikely]]
    throw std::bad_alloc();
  if (size > medium_limit) [[unlikely]]
    return ::operator new(size);
  unsigned const c = class_of(size);
  thread_cache& tc = t_cache;
  if (block* b = tc.heads_[c]) [[likely]] {
    tc.heads_[c] = b->next_;
    --tc.counts_[c];
    return b;
  }
  return alloc_slow(c);
}

void frame_free(void* p, std::size_t size) noexcept {
  if (size > medium_limit) [[unlikely]] {
    ::operator delete(p, size);
    return;
  }
  unsigned const c = class_of(size);
  thread_cache& tc = t_cache;
  if (tc.counts_[c] < tc.free_limit_) [[likely]] {
    block* b = ::new (p) block;
    b->next_ = tc.heads_[c];
    tc.heads_[c] = b;
    ++tc.counts_[c];
    return;
  }
  free_slow(c, p);
}

frame_alloc_stats frame_alloc_statistics() noexcept {
  global_state& g = g_state.value_;
  frame_alloc_stats stats;
  {
    std::lock_guard lock(g.chunk_mutex_);
    stats.chunks = g.chunks_.size();
  }
  for (depot_class& d : g.depot_) {
    std::lock_guard lock(d.mutex_);
    stats.depot_blocks += d.full_count_ * batch_size + d.partial_count_;
  }
  return stats;
}

bool frame_pool_enabled() noexcept { return true; }

#else  // !CORIO_FRAME_POOL_ACTIVE

void* frame_alloc(std::size_t size) { return ::operator new(size); }

void frame_free(void* p, std::size_t size) noexcept { ::operator delete(p, size); }

frame_alloc_stats frame_alloc_statistics() noexcept { return {}; }

bool frame_pool_enabled() noexcept { return false; }

#endif  // CORIO_FRAME_POOL_ACTIVE

}  // namespace corio::detail
