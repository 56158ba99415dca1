#pragma once
// corio::net::unix_stream and unix_listener — Unix-domain stream sockets, with the same
// operations as tcp_stream / tcp_listener. Addresses: socket_address::unix_path("/run/x.sock")
// or "@name" for the abstract namespace. A listener does not remove its socket file.

#include <utility>

#include "../runtime/detail/export.hpp"
#include "socket.hpp"

namespace corio::net {

/// A connected Unix-domain stream socket, with tcp_stream's operations (and split()).
class CORIO_API unix_stream : public stream_socket {
 public:
  /// A closed stream (every operation fails with EBADF).
  unix_stream() noexcept = default;
  /// Adopts a connected socket descriptor.
  explicit unix_stream(owned_fd f) noexcept : stream_socket(std::move(f)) {}

  /// Connects to a Unix address. std::system_error (e.g. ENOENT, ECONNREFUSED) on failure.
  static task<unix_stream> connect(socket_address addr);
  /// A connected pair (socketpair(2)).
  static std::pair<unix_stream, unix_stream> pair();
};

/// A listening Unix-domain socket. Move-only; dropping it closes the socket (the socket file
/// stays).
class CORIO_API unix_listener : public socket_base {
 public:
  /// A closed listener (every operation fails with EBADF).
  unix_listener() noexcept = default;
  /// Binds and listens (backlog in `opts`). std::system_error naming the address on failure.
  static unix_listener bind(const socket_address& addr, const listen_options& opts = {});
  /// The awaitable accept() returns: resumes with the connected unix_stream.
  using accept_operation = detail::accept_awaitable<unix_stream>;
  /// Waits for the next connection. std::system_error on failure (EMFILE / ENFILE when out of
  /// descriptors: back off before retrying; EBADF once closed).
  ///
  /// **Cancel safety:** cancel-safe: dropped at its suspension point it loses no connection
  /// (one the kernel accepted as the request was cancelled is closed, and the peer sees a reset
  /// rather than a hang; any other stays in the backlog for the next accept).
  accept_operation accept() { return accept_operation(fd_.get()); }

 private:
  explicit unix_listener(owned_fd f) noexcept : socket_base(std::move(f)) {}
};

}  // namespace corio::net
