#pragma once
// corio::net::unix_stream and unix_listener — Unix-domain stream sockets, with the same
// operations as tcp_stream / tcp_listener. Addresses: socket_address::unix_path("/run/x.sock")
// or "@name" for the abstract namespace. A listener does not remove its socket file.

#include <utility>

#include "detail/socket_base.hpp"

namespace corio::net {

class unix_stream : public detail::stream_socket {
 public:
  unix_stream() noexcept = default;
  explicit unix_stream(detail::fd f) noexcept : stream_socket(std::move(f)) {}

  static task<unix_stream> connect(socket_address addr);
  /// A connected pair (socketpair(2)).
  static std::pair<unix_stream, unix_stream> pair();
};

class unix_listener : public detail::socket_base {
 public:
  unix_listener() noexcept = default;
  static unix_listener bind(const socket_address& addr, const detail::listen_options& opts = {});
  detail::accept_awaitable<unix_stream> accept() { return detail::accept_awaitable<unix_stream>(fd_.get()); }

 private:
  explicit unix_listener(detail::fd f) noexcept : socket_base(std::move(f)) {}
};

}  // namespace corio::net
