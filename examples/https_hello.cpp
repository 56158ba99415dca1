// An HTTPS server that answers every request with "Hello, World!" (HTTP/1.1 over TLS, with
// ALPN "http/1.1"). Kept small: one request head at a time, keep-alive, no request bodies.
//   https_hello --cert cert.pem --key key.pem [--port P] [--threads K]
//
//   curl --cacert ca.pem https://localhost:P/

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/io/tls.hpp>
#include <fmt/format.h>

#include "accept_loop.hpp"
#include "args.hpp"

using namespace std::chrono_literals;
using corio::net::tcp_listener;
using corio::net::tcp_stream;

namespace {

corio::task<void> serve(corio::tls::context ctx, tcp_stream raw) {
  raw.set_nodelay(true);
  try {
    auto s = co_await corio::timeout(10s, corio::tls::accept(ctx, std::move(raw)));
    corio::buffered_reader in(s);
    in.set_max_line_length(8192);
    for (;;) {
      auto request_line = co_await corio::timeout(10s, in.next_line());
      if (!request_line) break;  // close_notify
      bool close = request_line->ends_with("HTTP/1.0");
      for (;;) {  // headers up to the blank line
        auto h = co_await in.next_line();
        if (!h || h->empty()) break;
        if (h->starts_with("Connection: close") || h->starts_with("connection: close")) close = true;
      }
      co_await s.write_all(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n{}\r\n"
                                       "Hello, World!",
                                       close ? "Connection: close\r\n" : ""));
      if (close) break;
    }
    co_await s.shutdown();  // close_notify (ENOTCONN if the client is gone already)
  } catch (const std::exception& e) {
    fmt::print(stderr, "connection: {}\n", e.what());
  }
}

corio::task<void> run(corio::tls::context ctx, std::uint16_t port) {
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("https_hello listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  auto start_connection = [&ctx](tcp_stream raw) { corio::spawn(serve(ctx, std::move(raw))).detach(); };
  co_await examples::accept_loop(listener, start_connection, {.first = 10ms, .max = 10ms});
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto ctx = corio::tls::context::server();
  try {
    ctx.use_certificate_chain_file(a.text("cert", "cert.pem"));
    ctx.use_private_key_file(a.text("key", "key.pem"));
    ctx.set_alpn_protocols({"http/1.1"});
  } catch (const std::system_error& e) {
    fmt::print(stderr, "https_hello: {}\n", e.what());
    return 1;
  }
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  b.build().block_on(run(ctx, static_cast<std::uint16_t>(a.number("port", 8443))));
}
