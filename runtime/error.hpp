#pragma once
// Exceptions the runtime throws. Each names the misuse or the event in its message.

#include <fmt/core.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "detail/export.hpp"

namespace corio {

/// Thrown by `co_await handle` (and the join helpers) when the awaited task was aborted, or
/// when it could not run because its runtime shut down first.
class CORIO_API cancelled : public std::runtime_error {
 public:
  /// `what` is the message (the default names no task).
  explicit cancelled(const std::string& what = "corio: task was cancelled") : std::runtime_error(what) {}
};

/// Thrown by `corio::timeout` when the deadline passes first; the inner work has been cancelled
/// (and has finished unwinding) by the time this is thrown.
class CORIO_API timed_out : public std::runtime_error {
 public:
  /// `what` is the message.
  explicit timed_out(const std::string& what = "corio: operation timed out") : std::runtime_error(what) {}
};

/// A misuse of the API that the runtime detects at run time: awaiting a moved-from task or
/// join handle, awaiting a handle twice, `block_on` from a worker thread, `spawn` outside a
/// runtime. The message names the call.
class CORIO_API usage_error : public std::logic_error {
 public:
  /// `what` is the message, naming the call.
  explicit usage_error(const std::string& what) : std::logic_error(what) {}
};

namespace detail {
/// Throws usage_error with the message a + b + c. Inline checks call it rather than throw
/// themselves: a [[noreturn]] call that is not inlined makes the failing path visibly end
/// there, so g++ at -O3 does not warn (-Wnonnull, -Wstringop-overflow) about the dereference
/// that follows the check on the path it cannot rule out.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_usage_error(const char* a, const char* b = "",
                                                                  const char* c = "") {
  throw usage_error(std::string(a) + b + c);
}
}  // namespace detail

}  // namespace corio

// ---------------------------------------------------------------------------------------------
// fmt support (issue 18): the runtime's exceptions format as their what(), with the string_view
// format specs. (Task ids, join_handle::id() and the unhandled-exception hook's id, are plain
// std::uint64_t and format as numbers already.)

namespace corio::detail {
/// Formats any exception as its what().
struct what_formatter : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const std::exception& e, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(e.what()), ctx);
  }
};
}  // namespace corio::detail

/// @cond fmt_formatters (fmt's customisation point: documented in prose, not by Doxygen)
/// `fmt::format("{}", e)` for corio::cancelled: its message.
template <>
struct fmt::formatter<corio::cancelled> : corio::detail::what_formatter {};
/// `fmt::format("{}", e)` for corio::timed_out: its message.
template <>
struct fmt::formatter<corio::timed_out> : corio::detail::what_formatter {};
/// `fmt::format("{}", e)` for corio::usage_error: its message.
template <>
struct fmt::formatter<corio::usage_error> : corio::detail::what_formatter {};
/// @endcond
