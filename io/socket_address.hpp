#pragma once
// corio::net::socket_address — an IPv4, IPv6 or Unix-domain socket address.
//
//   socket_address a{"127.0.0.1", 8080};              // host literal + port
//   auto b = socket_address::parse("[::1]:443");       // "host:port", "[v6]:port"
//   auto c = socket_address::parse("unix:/run/x.sock"); // or unix_path("/run/x.sock")
//
// Only numeric hosts are parsed here (no DNS): use corio::net::resolve for names. Bad input
// throws std::invalid_argument naming the text and what is wrong with it; text with a NUL byte
// is bad input (the system calls would see a shorter address), including in the abstract
// namespace, so what to_string prints always parses back to the same address.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fmt/core.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "../runtime/detail/export.hpp"

namespace corio::net {

/// An IPv4, IPv6 or Unix-domain address; a plain value, freely copied and shared.
class CORIO_API socket_address {
 public:
  /// An unspecified address (family AF_UNSPEC).
  socket_address() noexcept = default;
  /// A numeric IPv4 or IPv6 host and a port. Throws std::invalid_argument (also for a host
  /// with a NUL byte).
  socket_address(std::string_view host, std::uint16_t port);
  /// From a raw address, e.g. what accept(2) returned.
  socket_address(const sockaddr* sa, socklen_t len);

  /// Parses "1.2.3.4:80", "[::1]:80", "unix:/path" (or "unix:@name" for the abstract
  /// namespace). Throws std::invalid_argument, also for text with a NUL byte.
  static socket_address parse(std::string_view text);
  /// A Unix-domain address; a leading '@' means the abstract namespace. Throws
  /// std::invalid_argument for an empty or too long path (107 bytes at most) or one with a NUL
  /// byte.
  static socket_address unix_path(std::string_view path);
  /// `0.0.0.0:port` (every IPv4 interface), for binding.
  static socket_address ipv4_any(std::uint16_t port);
  /// `[::]:port` (every IPv6 interface), for binding.
  static socket_address ipv6_any(std::uint16_t port);

  /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when default-constructed.
  int family() const noexcept { return storage_.ss_family; }
  ///@{
  /// Whether it is an IPv4, IPv6 or Unix-domain address.
  bool is_ipv4() const noexcept { return family() == AF_INET; }
  bool is_ipv6() const noexcept { return family() == AF_INET6; }
  bool is_unix() const noexcept { return family() == AF_UNIX; }
  ///@}
  /// The port (0 for Unix addresses).
  std::uint16_t port() const noexcept;
  /// "1.2.3.4:80", "[::1]:80", "unix:/path".
  std::string to_string() const;

  ///@{
  /// The raw address and its length, for system calls.
  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  ///@}
  /// For filling by the kernel (accept, recvfrom): capacity in, length out.
  socklen_t* size_ptr() noexcept {
    len_ = sizeof storage_;
    return &len_;
  }

  /// Byte-wise equality of the raw addresses (same family, host, port or path).
  friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// Declared again here, where it can carry CORIO_API (a friend declaration cannot).
CORIO_API bool operator==(const socket_address& a, const socket_address& b) noexcept;

}  // namespace corio::net

// ---------------------------------------------------------------------------------------------
// fmt support (issue 18): fmt::format("{}", addr) prints addr.to_string(); the string_view format
// specs apply ("{:>22}" pads, for instance).

/// @cond fmt_formatters
/// Formats a socket_address as its to_string() ("1.2.3.4:80", "[::1]:80", "unix:/path").
template <>
struct fmt::formatter<corio::net::socket_address> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const corio::net::socket_address& a, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
  }
};
/// @endcond
