// Drives a TLS echo server: C connections each send M messages and check every echo.
//   tls_echo_client --port P --ca ca.pem [--host localhost] [--conns C] [--msgs M] [--threads K]
// The server's certificate is verified against the CA file for --host (default localhost).

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/io/tls.hpp>
#include <fmt/format.h>

#include <vector>

#include "args.hpp"
#include "echo_check.hpp"

using corio::net::tcp_stream;

namespace {

corio::task<std::size_t> talk(corio::tls::context ctx, std::string host, corio::net::socket_address addr,
                              std::size_t id, std::size_t msgs) {
  auto raw = co_await tcp_stream::connect(addr, std::chrono::seconds(10));
  raw.set_nodelay(true);
  auto s = co_await corio::tls::connect(ctx, std::move(raw), host);
  co_await examples::send_and_check(s, id, msgs);
  co_await s.shutdown();
  char end;
  std::size_t n = co_await s.read(&end, 1);  // the server's close_notify
  if (n != 0) throw std::runtime_error(fmt::format("client {}: data after the last echo", id));
  co_return msgs;
}

corio::task<int> run(corio::tls::context ctx, std::string host, std::uint16_t port, std::size_t conns,
                     std::size_t msgs) {
  corio::net::socket_address addr{"127.0.0.1", port};
  std::vector<corio::task<std::size_t>> clients;
  for (std::size_t i = 0; i < conns; ++i) clients.push_back(talk(ctx, host, addr, i, msgs));
  co_return co_await examples::run_clients("tls_echo_client", std::move(clients), msgs);
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto ctx = corio::tls::context::client();
  try {
    std::string ca = a.text("ca", "");
    if (!ca.empty()) ctx.load_verify_file(ca);
  } catch (const std::system_error& e) {
    fmt::print(stderr, "tls_echo_client: {}\n", e.what());
    return 1;
  }
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  try {
    return b.build().block_on(run(ctx, a.text("host", "localhost"), static_cast<std::uint16_t>(a.number("port", 8443)),
                                  a.number("conns", 10), a.number("msgs", 100)));
  } catch (const std::exception& e) {
    fmt::print(stderr, "tls_echo_client: {}\n", e.what());
    return 1;
  }
}
