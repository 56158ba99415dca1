#pragma once

#include "../../runtime/detail/export.hpp"
// What the per-listener accept queue (accept_queue.hpp) and the io_uring backend
// (uring_reactor.cpp) agree on for a multishot accept, without either including the other:
// the request flag that asks for one, the completion flag that says more completions follow,
// and whether this kernel runs it at all.

namespace corio::detail {

/// In io_request::flags of an io_kind::accept (io_uring backend only): arm a multishot accept
/// (IORING_ACCEPT_MULTISHOT) instead of a one-shot. Outside every accept4 flag.
inline constexpr int accept_multishot = 1 << 30;

/// In the `flags` an io_completion receives: more completions of this operation follow
/// (IORING_CQE_F_MORE); without it the completion is the operation's last.
inline constexpr unsigned completion_more = 1u << 1;

/// Whether listeners may keep a multishot accept armed: the kernel runs it (probed once per
/// process on a throw-away ring and a listening Unix socket: a kernel without it refuses the
/// request with -EINVAL) and CORIO_ACCEPT_MULTISHOT is not "0" (a switch for comparisons).
/// Only a definite answer is remembered: a probe that could not create its ring or socket
/// (EMFILE, ENOMEM...) answers false for this call and runs again on the next.
CORIO_TEST_API bool multishot_accept_supported() noexcept;

}  // namespace corio::detail
