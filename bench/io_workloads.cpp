// tcp_echo of SPEC.md: `tcp_echo_server --port P` echoes every byte until the peer closes;
// `tcp_echo_client --port P [--c C] [--m M]` (reported as tcp_echo) opens C connections and
// runs M request/response rounds of 64 bytes on each, concurrently.

#include <corio/io/net.hpp>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "bench.hpp"

namespace {

using namespace bench;
using namespace std::chrono_literals;
using corio::net::socket_address;
using corio::net::tcp_listener;
using corio::net::tcp_stream;

corio::task<void> echo_connection(tcp_stream s) {
  s.set_nodelay(true);
  char buf[4096];
  try {
    for (;;) {
      std::size_t n = co_await s.read(buf, sizeof buf);
      if (n == 0) co_return;
      co_await s.write_all(buf, n);
    }
  } catch (const std::exception&) {
    // a peer that resets is not the server's problem
  }
}

corio::task<result> echo_server(const args& a) {
  auto port = static_cast<std::uint16_t>(a.get("port"));
  auto l = tcp_listener::bind({"127.0.0.1", port});
  std::fprintf(stderr, "corio tcp_echo_server listening on %s\n", l.local_address().to_string().c_str());
  for (;;) {
    bool failed = false;
    try {
      corio::spawn(echo_connection(co_await l.accept())).detach();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "accept: %s; backing off\n", e.what());
      failed = true;
    }
    if (failed) co_await corio::sleep(10ms);  // out of descriptors: don't spin
  }
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

corio::task<uint64_t> client_connection(tcp_stream s, uint64_t conn, uint64_t msgs) {
  char msg[64] = {}, echo[64];
  for (uint64_t i = 0; i < msgs; ++i) {
    uint64_t tag = conn * msgs + i;
    std::memcpy(msg, &tag, sizeof tag);
    co_await s.write_all(msg, sizeof msg);
    co_await s.read_exact(echo, sizeof echo);
    if (std::memcmp(msg, echo, sizeof msg) != 0) throw std::runtime_error("tcp_echo: bad echo");
  }
  co_return msgs;
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
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> hs;
  for (uint64_t i = 0; i < conns; ++i) hs.push_back(corio::spawn(client_connection(std::move(socks[i]), i, msgs)));
  uint64_t total = 0;
  for (auto& h : hs) total += co_await h;
  co_return result{seconds_since(t0), total};
}

void run_client(std::string_view, const args& a) { run_on_runtime("tcp_echo", a, echo_client); }

const registrar reg_server({"tcp_echo_server", {{"port", 7878}}, on_runtime<echo_server>});
const registrar reg_client({"tcp_echo_client", {{"port", 7878}, {"c", 50}, {"m", 20'000}}, run_client});
const registrar reg_echo({"tcp_echo", {{"port", 7878}, {"c", 50}, {"m", 20'000}}, run_client});

}  // namespace
