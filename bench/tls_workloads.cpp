// tls_echo of SPEC.md: tcp_echo over TLS. `tls_echo_server --port P` reads its certificate
// chain and key from the PEM files named by $TLS_CERT and $TLS_KEY and echoes every byte;
// `tls_echo_client --port P [--c C] [--m M]` (reported as tls_echo) opens C connections,
// completes every handshake (not verifying the server), then times M rounds of 64 bytes on
// each, concurrently.

#include <corio/io/net.hpp>
#include <corio/io/tls.hpp>

#include <cstdlib>
#include <vector>

#include "bench.hpp"
#include "echo.hpp"

namespace {

using namespace bench;
using namespace std::chrono_literals;
using corio::net::socket_address;
using corio::net::tcp_listener;
using corio::net::tcp_stream;
namespace tls = corio::tls;

corio::task<void> echo_connection(tls::context ctx, tcp_stream raw) {
  raw.set_nodelay(true);
  try {
    auto s = co_await tls::accept(ctx, std::move(raw));
    co_await echo_until_eof(s);
  } catch (const std::exception&) {
    // a peer that resets (or leaves without close_notify) is not the server's problem
  }
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw usage_failure(std::string("tls_echo_server needs $") + name + " (a PEM file)");
  return v;
}

corio::task<result> echo_server(const args& a) {
  auto ctx = tls::context::server();
  ctx.use_certificate_chain_file(env("TLS_CERT"));
  ctx.use_private_key_file(env("TLS_KEY"));
  auto port = static_cast<std::uint16_t>(a.get("port"));
  auto l = tcp_listener::bind({"127.0.0.1", port});
  std::fprintf(stderr, "corio tls_echo_server listening on %s\n", l.local_address().to_string().c_str());
  auto serve = [ctx](tcp_stream raw) { return echo_connection(ctx, std::move(raw)); };
  co_await accept_forever(l, serve);
  co_return result{};  // not reached: the server runs until it is killed
}

corio::task<tls::stream<tcp_stream>> connect_retry(tls::context ctx, socket_address addr) {
  auto deadline = steady::now() + 10s;
  for (;;) {
    bool retry = false;
    try {
      auto raw = co_await tcp_stream::connect(addr);
      raw.set_nodelay(true);
      co_return co_await tls::connect(ctx, std::move(raw), "localhost");
    } catch (const std::system_error&) {
      if (steady::now() > deadline) throw;
      retry = true;
    }
    if (retry) co_await corio::sleep(50ms);
  }
}

corio::task<result> echo_client(const args& a) {
  auto ctx = tls::context::client();
  ctx.disable_verification_dangerous();  // SPEC: clients do not verify
  auto port = static_cast<std::uint16_t>(a.get("port"));
  const uint64_t conns = a.get("c"), msgs = a.get("m");
  socket_address addr{"127.0.0.1", port};
  std::vector<tls::stream<tcp_stream>> socks;
  auto h0 = steady::now();
  for (uint64_t i = 0; i < conns; ++i) socks.push_back(co_await connect_retry(ctx, addr));
  std::fprintf(stderr, "tls_echo: %llu handshakes (one at a time) in %.3f s\n", static_cast<unsigned long long>(conns),
               seconds_since(h0));
  co_return co_await time_echo_rounds(std::move(socks), msgs, "tls_echo", true);  // then close_notify
}

void run_client(std::string_view, const args& a) { run_on_runtime("tls_echo", a, echo_client); }

const registrar reg_server({"tls_echo_server", {{"port", 7879}}, on_runtime<echo_server>});
const registrar reg_client({"tls_echo_client", {{"port", 7879}, {"c", 50}, {"m", 5'000}}, run_client});
const registrar reg_echo({"tls_echo", {{"port", 7879}, {"c", 50}, {"m", 5'000}}, run_client});

// tls_handshakes: handshakes per second against a tls_echo_server (`--c` concurrent
// connections, `--n` handshakes in all, TLS 1.3, no resumption, no verification).
corio::task<uint64_t> handshake_loop(tls::context ctx, socket_address addr, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    auto raw = co_await tcp_stream::connect(addr);
    auto s = co_await tls::connect(ctx, std::move(raw), "localhost");
    co_await s.shutdown();
  }
  co_return n;
}

corio::task<result> handshakes(const args& a) {
  auto ctx = tls::context::client();
  ctx.disable_verification_dangerous();
  ctx.set_session_resumption(false);
  socket_address addr{"127.0.0.1", static_cast<std::uint16_t>(a.get("port"))};
  const uint64_t conns = a.get("c"), n = a.get("n");
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> hs;
  for (uint64_t i = 0; i < conns; ++i) hs.push_back(corio::spawn(handshake_loop(ctx, addr, n / conns)));
  uint64_t total = 0;
  for (auto& h : hs) total += co_await h;
  co_return result{seconds_since(t0), total};
}

const registrar reg_hs({"tls_handshakes", {{"port", 7879}, {"c", 8}, {"n", 2'000}}, on_runtime<handshakes>});

}  // namespace
