#pragma once
// A connected TCP pair on 127.0.0.1, for tests that need both ends of a real socket.

#include <corio/io/net.hpp>

#include <utility>

namespace corio::test {

/// Binds an ephemeral port, connects to it and accepts: {client, server}.
inline task<std::pair<net::tcp_stream, net::tcp_stream>> tcp_loopback() {
  auto l = net::tcp_listener::bind({"127.0.0.1", 0});
  auto client = co_await net::tcp_stream::connect(l.local_address());
  auto server = co_await l.accept();
  co_return std::pair{std::move(client), std::move(server)};
}

}  // namespace corio::test
