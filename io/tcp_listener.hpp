#pragma once
// corio::net::tcp_listener — a listening TCP socket.
//
//   auto l = tcp_listener::bind({"127.0.0.1", 0});    // port 0: the kernel picks one
//   auto port = l.local_address().port();
//   for (;;) corio::spawn(serve(co_await l.accept())).detach();
//
// accept() errors are std::system_error: in particular EMFILE/ENFILE when the process is out
// of descriptors; an accept loop should report it and back off (sleep) rather than retry at
// once. An accept cancelled as it completes closes the connection it got.

#include "detail/socket_base.hpp"
#include "tcp_stream.hpp"

namespace corio::net {

using detail::listen_options;

/// A listening TCP socket. Move-only; dropping it closes the socket.
class tcp_listener : public detail::socket_base {
 public:
  /// A closed listener (every operation fails with EBADF).
  tcp_listener() noexcept = default;

  /// Binds and listens (SO_REUSEADDR by default; SO_REUSEPORT, backlog in `opts`).
  /// std::system_error naming the address on failure (EADDRINUSE, EACCES, ...).
  static tcp_listener bind(const socket_address& addr, const listen_options& opts = {});

  /// Waits for the next connection.
  detail::accept_awaitable<tcp_stream> accept() { return detail::accept_awaitable<tcp_stream>(fd_.get()); }

 private:
  explicit tcp_listener(detail::fd f) noexcept : socket_base(std::move(f)) {}
};

}  // namespace corio::net
