#pragma once
// corio::net::unix_stream and unix_listener — Unix-domain stream sockets, with the same
// operations as tcp_stream / tcp_listener. Addresses: socket_address::unix_path("/run/x.sock")
// or "@name" for the abstract namespace. A listener does not remove its socket file.

#include <utility>

#include "detail/socket_base.hpp"

namespace corio::net {

/// A connected Unix-domain stream socket, with tcp_stream's operations (and split()).
class unix_stream : public detail::stream_socket {
 public:
  /// A closed stream (every operation fails with EBADF).
  unix_stream() noexcept = default;
  /// Adopts a connected socket descriptor.
  explicit unix_stream(detail::fd f) noexcept : stream_socket(std::move(f)) {}

  /// Connects to a Unix address. std::system_error (e.g. ENOENT, ECONNREFUSED) on failure.
  static task<unix_stream> connect(socket_address addr);
  /// A connected pair (socketpair(2)).
  static std::pair<unix_stream, unix_stream> pair();
};

/// A listening Unix-domain socket. Move-only; dropping it closes the socket (the socket file
/// stays).
class unix_listener : public detail::socket_base {
 public:
  /// A closed listener (every operation fails with EBADF).
  unix_listener() noexcept = default;
  /// Binds and listens (backlog in `opts`). std::system_error naming the address on failure.
  static unix_listener bind(const socket_address& addr, const detail::listen_options& opts = {});
  /// Waits for the next connection.
  detail::accept_awaitable<unix_stream> accept() { return detail::accept_awaitable<unix_stream>(fd_.get()); }

 private:
  explicit unix_listener(detail::fd f) noexcept : socket_base(std::move(f)) {}
};

}  // namespace corio::net
