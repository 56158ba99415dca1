// tcp_echo of SPEC.md: `tcp_echo_server --port P` echoes every byte until the peer closes;
// `tcp_echo_client --port P [--c C] [--m M]` (reported as tcp_echo) opens C connections and
// runs M request/response rounds of 64 bytes on each, concurrently.

#include <corio/io/net.hpp>

#include <vector>

#include "bench.hpp"
#include "echo.hpp"

namespace {

using namespace bench;
using namespace std::chrono_literals;
using corio::net::socket_address;
using corio::net::tcp_listener;
using corio::net::tcp_stream;

corio::task<void> echo_connection(tcp_stream s) {
  s.set_nodelay(true);
  try {
    co_await echo_until_eof(s);
  } catch (const std::exception&) {
    // a peer that resets is not the server's problem
  }
}

corio::task<result> echo_server(const args& a) {
  auto port = static_cast<std::uint16_t>(a.get("port"));
  auto l = tcp_listener::bind({"127.0.0.1", port});
  std::fprintf(stderr, "corio tcp_echo_server listening on %s\n", l.local_address().to_string().c_str());
  co_await accept_forever(l, echo_connection);
  co_return result{};  // not reached: the server runs until it is killed
}

corio::task<tcp_stream> connect_retry(socket_address addr) {
  auto deadline = steady::now() + 10s;
  for (;;) {
    try {
      co_return co_await tcp_stream::connect(addr);
    } catch (const std::system_error&) {
      if (steady::now() > deadline) throw;
    }
    co_await corio::sleep(50ms);
  }
}

corio::task<result> echo_client(const args& a) {
  auto port = static_cast<std::uint16_t>(a.get("port"));
  const uint64_t conns = a.get("c"), msgs = a.get("m");
  socket_address addr{"127.0.0.1", port};
  std::vector<tcp_stream> socks;
  for (uint64_t i = 0; i < conns; ++i) {
    socks.push_back(co_await connect_retry(addr));
    socks.back().set_nodelay(true);
  }
  co_return co_await time_echo_rounds(std::move(socks), msgs, "tcp_echo", false);
}

void run_client(std::string_view, const args& a) { run_on_runtime("tcp_echo", a, echo_client); }

const registrar reg_server({"tcp_echo_server", {{"port", 7878}}, on_runtime<echo_server>});
const registrar reg_client({"tcp_echo_client", {{"port", 7878}, {"c", 50}, {"m", 20'000}}, run_client});
const registrar reg_echo({"tcp_echo", {{"port", 7878}, {"c", 50}, {"m", 20'000}}, run_client});

}  // namespace
