#pragma once
// corio::net::unix_datagram — Unix-domain datagram sockets (same operations as udp_socket).

#include <utility>

#include "../runtime/detail/export.hpp"
#include "socket.hpp"

namespace corio::net {

/// A Unix-domain datagram socket, with udp_socket's operations. Move-only; dropping it closes
/// the socket.
class CORIO_API unix_datagram : public datagram_socket {
 public:
  /// A closed socket (every operation fails with EBADF).
  unix_datagram() noexcept = default;
  /// Binds to a Unix address. std::system_error naming the address on failure (EADDRINUSE if
  /// the socket file exists).
  static unix_datagram bind(const socket_address& addr);
  /// An unbound socket (for sending, or for connect).
  static unix_datagram unbound();
  /// A connected pair (socketpair(2)).
  static std::pair<unix_datagram, unix_datagram> pair();

 private:
  explicit unix_datagram(owned_fd f) noexcept : datagram_socket(std::move(f)) {}
};

}  // namespace corio::net
