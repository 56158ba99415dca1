#pragma once
// Coroutine-frame allocator: per-thread size-class free lists over 64 KiB chunks, with a
// global depot that balances threads that free more than they allocate (a frame spawned on
// one worker and finished on another is freed into the finishing thread's cache; when a cache
// overflows it hands a batch to the depot, and an empty cache takes a batch back before it
// asks the system for a new chunk). Sizes above the largest class go to ::operator new.
//
// Under AddressSanitizer, ThreadSanitizer or with CORIO_NO_FRAME_POOL defined, every call goes
// straight to ::operator new / ::operator delete so the sanitizers see each frame.
//
// Thread-safe. frame_free must receive the same size that was given to frame_alloc.

#include <cstddef>

#include "export.hpp"

namespace corio::detail {

/// Returns at least `size` bytes aligned to 16 (__STDCPP_DEFAULT_NEW_ALIGNMENT__).
/// Throws std::bad_alloc when memory is exhausted.
CORIO_API void* frame_alloc(std::size_t size);

/// Returns a block obtained from frame_alloc(size), from any thread.
CORIO_API void frame_free(void* p, std::size_t size) noexcept;

/// Statistics for tests and metrics (approximate while other threads allocate).
struct frame_alloc_stats {
  std::size_t chunks = 0;        ///< chunks taken from the system
  std::size_t depot_blocks = 0;  ///< blocks parked in the global depot
};
CORIO_TEST_API frame_alloc_stats frame_alloc_statistics() noexcept;

/// True when the pool is compiled in; false when every call goes to ::operator new / delete
/// (sanitizer builds, CORIO_NO_FRAME_POOL), in which case the statistics stay zero.
CORIO_TEST_API bool frame_pool_enabled() noexcept;

}  // namespace corio::detail
