#include "socket_address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace corio::net {

namespace {
/// `text` for an error message: a NUL would end what() early, so it shows as "\0".
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\0')
      out += "\\0";
    else
      out += c;
  }
  return out;
}

[[noreturn]] void bad(std::string_view text, std::string_view why) {
  throw std::invalid_argument(fmt::format("corio::net::socket_address: '{}': {}", printable(text), why));
}

/// The C APIs below stop at a NUL, so text with one would be read as a shorter address.
void reject_nul(std::string_view text, std::string_view what) {
  if (text.find('\0') != std::string_view::npos) bad(text, fmt::format("{} contains a NUL byte", what));
}
}  // namespace

socket_address::socket_address(std::string_view host, std::uint16_t port) {
  reject_nul(host, "the host");
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
  if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len_ = sizeof(sockaddr_in);
    return;
  }
  storage_ = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage_);
  if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len_ = sizeof(sockaddr_in6);
    return;
  }
  storage_ = {};
  bad(host, "not a numeric IPv4 or IPv6 address (use corio::net::resolve for host names)");
}

socket_address::socket_address(const sockaddr* sa, socklen_t len) {
  if (len > sizeof storage_) len = sizeof storage_;
  std::memcpy(&storage_, sa, len);
  len_ = len;
}

socket_address socket_address::parse(std::string_view text) {
  if (text.substr(0, 5) == "unix:") return unix_path(text.substr(5));
  reject_nul(text, "the address");
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) bad(text, "missing ':port'");
  std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
  if (host.empty()) bad(text, "missing host before ':port'");
  if (host.find(':') != std::string_view::npos && host.front() != '[')
    bad(text, "an IPv6 host must be in brackets, as in [::1]:80");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    bad(text, "the port must be a number in 0..65535");
  return socket_address(host, static_cast<std::uint16_t>(port));
}

socket_address socket_address::unix_path(std::string_view path) {
  socket_address a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  if (path.empty()) bad(path, "empty Unix socket path");
  reject_nul(path, "the Unix socket path");
  if (path.size() >= sizeof un->sun_path)
    bad(path, fmt::format("Unix socket path longer than {} bytes", sizeof un->sun_path - 1));
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  if (path.front() == '@') un->sun_path[0] = '\0';  // abstract namespace
  a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path.front() == '@' ? 0 : 1));
  return a;
}

socket_address socket_address::ipv4_any(std::uint16_t port) { return socket_address("0.0.0.0", port); }
socket_address socket_address::ipv6_any(std::uint16_t port) { return socket_address("::", port); }

std::uint16_t socket_address::port() const noexcept {
  if (is_ipv4()) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (is_ipv6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string socket_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_ipv4()) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, port());
  }
  if (is_ipv6()) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    return fmt::format("[{}]:{}", buf, port());
  }
  if (is_unix()) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
    std::size_t n = len_ > offsetof(sockaddr_un, sun_path) ? len_ - offsetof(sockaddr_un, sun_path) : 0;
    if (n == 0) return "unix:(unnamed)";
    if (un->sun_path[0] == '\0') return "unix:@" + std::string(un->sun_path + 1, n - 1);
    return "unix:" + std::string(un->sun_path, ::strnlen(un->sun_path, n));
  }
  return "(unspecified)";
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
  return a.len_ == b.len_ && std::memcmp(&a.storage_, &b.storage_, a.len_) == 0;
}

}  // namespace corio::net
