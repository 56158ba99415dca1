// Drives an echo server: C connections each send M messages and check every echo.
//   echo_client --port P [--conns C] [--msgs M] [--threads K]

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <fmt/format.h>

#include <vector>

#include "args.hpp"
#include "echo_check.hpp"

using corio::net::tcp_stream;

corio::task<std::size_t> talk(corio::net::socket_address addr, std::size_t id, std::size_t msgs) {
  auto s = co_await tcp_stream::connect(addr, std::chrono::seconds(10));
  s.set_nodelay(true);
  co_await examples::send_and_check(s, id, msgs);
  co_return msgs;
}

corio::task<int> run(std::uint16_t port, std::size_t conns, std::size_t msgs) {
  corio::net::socket_address addr{"127.0.0.1", port};
  std::vector<corio::task<std::size_t>> clients;
  for (std::size_t i = 0; i < conns; ++i) clients.push_back(talk(addr, i, msgs));
  co_return co_await examples::run_clients("echo_client", std::move(clients), msgs);
}

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  return b.build().block_on(run(static_cast<std::uint16_t>(a.number("port", 7878)), a.number("conns", 10), a.number("msgs", 100)));
}
