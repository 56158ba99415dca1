#pragma once
// corio::net::udp_socket — UDP.
//
//   auto s = udp_socket::bind({"127.0.0.1", 0});
//   co_await s.send_to(data, n, peer);
//   auto [size, from] = co_await s.recv_from(buf, sizeof buf);
//
// Each send is one datagram; a receive returns one datagram, truncated to the buffer.

#include "../runtime/detail/export.hpp"
#include "socket.hpp"

namespace corio::net {

/// A UDP socket: send_to, recv_from, connect, send and recv come from datagram_socket
/// (socket.hpp, with each one's cancel safety). Move-only; dropping it closes the socket.
class CORIO_API udp_socket : public datagram_socket {
 public:
  /// A closed socket (every operation fails with EBADF).
  udp_socket() noexcept = default;
  /// Binds to `addr` (port 0: any free port). std::system_error naming the address on failure.
  static udp_socket bind(const socket_address& addr);

 private:
  explicit udp_socket(owned_fd f) noexcept : datagram_socket(std::move(f)) {}
};

}  // namespace corio::net
