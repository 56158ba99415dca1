#pragma once
// Fiber stacks (fiber_stack.cpp): the mappings fiber_context runs on, and the pool that reuses
// them. Internal to fiber_context; see fiber_context.hpp for the layout and the numbers.
//
// A stack is one mapping: the guard region (guard_size() bytes, PROT_NONE) at its lowest
// address, then the stack. Pool: exact-size reuse, a per-thread cache of a few stacks (no lock)
// in front of a global pool (one mutex); stacks beyond both caps go back to the kernel. A
// thread's cache is flushed into the global pool when the thread exits.

#include <cstddef>

namespace corio::detail {

std::size_t page_size() noexcept;
std::size_t round_to_pages(std::size_t n) noexcept;

/// Inaccessible bytes below every stack. More than one page, so that a frame somewhat larger
/// than a page (a local buffer) still lands in it instead of jumping over it; a frame larger
/// than the whole guard can still skip it unless the code is compiled with
/// -fstack-clash-protection.
std::size_t guard_size() noexcept;

struct stack_block {
  void* mapping = nullptr;
  std::size_t total = 0;  // guard + stack: the whole mapping
};

/// A stack of `total` bytes (guard included) from the pool, or a new mapping; `usable` only
/// names the size in an error. Throws std::system_error if the kernel refuses the mapping.
stack_block take_stack(std::size_t total, std::size_t usable);

/// Back to the pool (or to the kernel when the pool is full).
void give_back_stack(stack_block b) noexcept;

/// Stacks parked in the pools now (all threads' caches and the global pool).
std::size_t pooled_stack_count() noexcept;

}  // namespace corio::detail
