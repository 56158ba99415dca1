#pragma once
// Fiber stack overflow reports (fiber_guard.cpp): the SIGSEGV handler that names an overflowed
// fiber stack, and the alternate signal stacks it runs on. Internal to fiber_context; the
// contract is in fiber_context.hpp ("Stack overflow").
//
// The handler is installed when a new stack is mapped, and only if SIGSEGV's disposition is the
// default one then. It finds the faulting fiber's stack through a thread-local that resume()
// sets on the driver side (exchange_running_fiber), where it is read and written on one thread.

#include <cstddef>

namespace corio::detail {

/// The stack of the fiber running on a thread, as the fault handler needs it.
struct running_fiber {
  const void* mapping;  // lowest address: the guard region, then the stack
  std::size_t usable;   // the stack's usable bytes
};

/// Installs the handler if SIGSEGV has the default disposition now. Called whenever a new stack
/// is mapped; two threads racing here install the same handler.
void install_overflow_handler_if_default() noexcept;

/// The handler is installed (by us, at some point): threads resuming fibers need an
/// alternate signal stack.
bool overflow_handler_installed() noexcept;

/// Gives this thread an alternate signal stack unless it has one (checked once per thread).
void ensure_alt_stack() noexcept;

/// Records `f` (it must outlive the record) as the fiber running on this thread (null: none);
/// returns the previous record.
const running_fiber* exchange_running_fiber(const running_fiber* f) noexcept;

}  // namespace corio::detail
