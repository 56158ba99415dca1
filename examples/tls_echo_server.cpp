// A TLS echo server: every connection's bytes come back to it, encrypted.
//   tls_echo_server --cert cert.pem --key key.pem [--port P] [--threads K]
// (--cert/--key default to the files named by $TLS_CERT / $TLS_KEY.)
//
// Each connection is its own task: the handshake, then read/write until the client sends
// close_notify (answered with ours) or goes away. A failed handshake (a plaintext client, an
// alert) or a silent client (10 s per read) costs that connection only.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/io/tls.hpp>
#include <fmt/format.h>

#include <cstdlib>

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
    char buf[16384];
    for (;;) {
      std::size_t n = co_await corio::timeout(10s, s.read(buf, sizeof buf));
      if (n == 0) break;
      co_await s.write_all(buf, n);
    }
    co_await s.shutdown();
  } catch (const std::exception& e) {
    fmt::print(stderr, "connection: {}\n", e.what());
  }
}

corio::task<void> run(corio::tls::context ctx, std::uint16_t port) {
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("tls_echo_server listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  auto start_connection = [&ctx](tcp_stream raw) { corio::spawn(serve(ctx, std::move(raw))).detach(); };
  // Out of descriptors: back off 10 ms each time.
  co_await examples::accept_loop(listener, start_connection, {.first = 10ms, .max = 10ms});
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto ctx = corio::tls::context::server();
  try {
    ctx.use_certificate_chain_file(a.text("cert", env_or("TLS_CERT", "cert.pem")));
    ctx.use_private_key_file(a.text("key", env_or("TLS_KEY", "key.pem")));
  } catch (const std::system_error& e) {
    fmt::print(stderr, "tls_echo_server: {}\n", e.what());
    return 1;
  }
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  b.build().block_on(run(ctx, static_cast<std::uint16_t>(a.number("port", 8443))));
}
