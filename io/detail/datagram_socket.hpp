#pragma once
// Datagram sockets (UDP and Unix datagram) share everything but the family.

#include <cstddef>
#include <utility>

#include "socket_base.hpp"

namespace corio::detail {

class datagram_socket : public socket_base {
 public:
  using socket_base::socket_base;

  /// Sets the default peer: send/recv then use it, and datagrams from others are dropped.
  void connect(const net::socket_address& addr);

  /// Sends one datagram to `to`; returns its size.
  task<std::size_t> send_to(const void* data, std::size_t n, net::socket_address to);
  /// Receives one datagram (truncated to n bytes): its size and sender.
  task<std::pair<std::size_t, net::socket_address>> recv_from(void* data, std::size_t n);
  /// On a connected socket: one datagram to / from the peer.
  io_call<to_size> send(const void* data, std::size_t n) { return io_call<to_size>(send_request(fd_.get(), data, n), "send"); }
  io_call<to_size> recv(void* data, std::size_t n) { return io_call<to_size>(recv_request(fd_.get(), data, n), "recv"); }

 protected:
  static fd bound(const net::socket_address& addr, const char* what);
};

}  // namespace corio::detail
