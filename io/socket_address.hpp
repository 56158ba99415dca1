#pragma once
// corio::net::socket_address — an IPv4, IPv6 or Unix-domain socket address.
//
//   socket_address a{"127.0.0.1", 8080};              // host literal + port
//   auto b = socket_address::parse("[::1]:443");       // "host:port", "[v6]:port"
//   auto c = socket_address::parse("unix:/run/x.sock"); // or unix_path("/run/x.sock")
//
// Only numeric hosts are parsed here (no DNS): use corio::net::resolve for names. Bad input
// throws std::invalid_argument naming the text and what is wrong with it.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace corio::net {

class socket_address {
 public:
  /// An unspecified address (family AF_UNSPEC).
  socket_address() noexcept = default;
  /// A numeric IPv4 or IPv6 host and a port. Throws std::invalid_argument.
  socket_address(std::string_view host, std::uint16_t port);
  /// From a raw address, e.g. what accept(2) returned.
  socket_address(const sockaddr* sa, socklen_t len);

  /// Parses "1.2.3.4:80", "[::1]:80", "unix:/path" (or "unix:@name" for the abstract
  /// namespace). Throws std::invalid_argument.
  static socket_address parse(std::string_view text);
  static socket_address unix_path(std::string_view path);
  static socket_address ipv4_any(std::uint16_t port);
  static socket_address ipv6_any(std::uint16_t port);

  int family() const noexcept { return storage_.ss_family; }
  bool is_ipv4() const noexcept { return family() == AF_INET; }
  bool is_ipv6() const noexcept { return family() == AF_INET6; }
  bool is_unix() const noexcept { return family() == AF_UNIX; }
  /// The port (0 for Unix addresses).
  std::uint16_t port() const noexcept;
  /// "1.2.3.4:80", "[::1]:80", "unix:/path".
  std::string to_string() const;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  /// For filling by the kernel (accept, recvfrom): capacity in, length out.
  socklen_t* size_ptr() noexcept {
    len_ = sizeof storage_;
    return &len_;
  }

  friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace corio::net
