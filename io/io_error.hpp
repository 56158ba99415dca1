#pragma once
// Errors of the I/O layer. System call failures are std::system_error carrying the errno
// (err.code().value()), with the operation and addresses in the message.

#include <cstddef>
#include <stdexcept>
#include <string>

#include "../runtime/detail/export.hpp"
#include "../runtime/error.hpp"

namespace corio {

/// read_exact (or a buffered read that needs more) met the end of the stream first. `got` says
/// how many of the `wanted` bytes did arrive (they are in the buffer).
class CORIO_API unexpected_eof : public std::runtime_error {
 public:
  /// `what` is the message; `got` of the `wanted` bytes arrived.
  unexpected_eof(const std::string& what, std::size_t got, std::size_t wanted)
      : std::runtime_error(what), got_(got), wanted_(wanted) {}
  /// Bytes that did arrive before the end of the stream.
  std::size_t got() const noexcept { return got_; }
  /// Bytes that were asked for.
  std::size_t wanted() const noexcept { return wanted_; }

 private:
  std::size_t got_, wanted_;
};

}  // namespace corio

// fmt support (issue 18): `fmt::format("{}", e)` prints the message.
/// @cond fmt_formatters
/// Formats corio::unexpected_eof as its what().
template <>
struct fmt::formatter<corio::unexpected_eof> : corio::detail::what_formatter {};
/// @endcond
