// corio::tls: handshakes and echo over TCP and Unix streams, TLS 1.2 and 1.3, ALPN, session
// resumption, split halves, buffered I/O, the verification failures, broken peers (plaintext,
// truncated handshake, close without close_notify, reset mid-record), cancellation, and the
// fault layer's short transfers under TLS. Interop with the openssl and curl commands is in
// tests/examples/tls_smoke.py (it drives the TLS examples).

#include <doctest/doctest.h>
#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/io/tls.hpp>
#include <fmt/format.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include "../../runtime/detail/fault.hpp"
#include "support/fds.hpp"
#include "support/runtimes.hpp"
#include "support/tls_certs.hpp"

using namespace corio;
using namespace corio::net;
using namespace std::chrono_literals;
namespace fault = corio::detail::fault;
namespace certs = corio::test::tls_certs;

namespace {

constexpr auto bound = 20s;  // generous: only reached when something hangs

struct pki {
  certs::pem ca = certs::make_ca("corio test CA");
  certs::pem leaf = certs::make_leaf(ca);
  certs::pem expired = certs::make_expired_leaf(ca);
  certs::pem other_ca = certs::make_ca("someone else's CA");
};
const pki& keys() {
  static const pki k;
  return k;
}

tls::context server_ctx(const certs::pem& id = keys().leaf) {
  auto c = tls::context::server();
  c.use_certificate_chain(id.cert);
  c.use_private_key(id.key);
  return c;
}
tls::context client_ctx(const certs::pem& ca = keys().ca) {
  auto c = tls::context::client();
  c.add_certificate_authority(ca.cert);
  return c;
}

std::uint64_t fnv(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

/// Echoes until close_notify, then answers with its own close_notify.
template <class S>
task<void> echo(tls::stream<S> s) {
  char buf[8192];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) break;
    co_await s.write_all(buf, n);
  }
  co_await s.shutdown();
}

task<void> accept_and_echo(tcp_listener& l, tls::context ctx) {
  auto s = co_await tls::accept(ctx, co_await l.accept());
  co_await echo(std::move(s));
}

/// Accepts one connection and expects its handshake to fail; returns the error code.
task<std::error_code> accept_failure(tcp_listener& l, tls::context ctx) {
  auto raw = co_await l.accept();
  try {
    co_await corio::timeout(bound, tls::accept(ctx, std::move(raw)));
  } catch (const std::system_error& e) {
    co_return e.code();
  }
  co_return std::error_code();
}

/// Connects with `ctx` to `host` and expects a tls error; returns it.
task<std::system_error> connect_failure(socket_address addr, tls::context ctx, std::string host) {
  try {
    co_await corio::timeout(bound, tls::connect(ctx, co_await tcp_stream::connect(addr), host));
  } catch (const std::system_error& e) {
    co_return e;
  }
  FAIL("the handshake succeeded");
  co_return std::system_error(std::error_code());
}

/// `openssl s_server -rev` (answers each line reversed) on a free port, for the interop test.
class s_server {
 public:
  s_server(const std::string& dir, const char* version) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(p[1], 1);
      ::dup2(p[1], 2);
      ::close(p[0]);
      std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
      ::execlp("openssl", "openssl", "s_server", "-accept", "0", "-cert", cert.c_str(), "-key", key.c_str(), "-rev",
               version, "-naccept", "1", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(p[1]);
    std::string out;
    char c;
    while (out.find("ACCEPT") == std::string::npos || out.back() != '\n') {  // "ACCEPT [::]:PORT"
      if (::read(p[0], &c, 1) != 1) break;
      out += c;
    }
    ::close(p[0]);
    auto colon = out.rfind(':');
    if (out.find("ACCEPT") != std::string::npos && colon != std::string::npos) port_ = std::stoi(out.substr(colon + 1));
  }
  ~s_server() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

bool have_openssl_command() { return std::system("openssl version >/dev/null 2>&1") == 0; }

}  // namespace

TEST_SUITE("tls") {
  TEST_CASE("interop: our client against openssl s_server, TLS 1.2 and 1.3") {
    if (!have_openssl_command()) {
      MESSAGE("skipped: the openssl command is missing");
      return;
    }
    char dir_template[] = "/tmp/corio-tls-XXXXXX";
    REQUIRE(::mkdtemp(dir_template));
    std::string dir = dir_template;
    certs::write_file(dir + "/cert.pem", keys().leaf.cert);
    certs::write_file(dir + "/key.pem", keys().leaf.key);
    for (const char* version : {"-tls1_2", "-tls1_3"}) {
      s_server peer(dir, version);
      REQUIRE(peer.port() > 0);
      auto rt = test::multi();
      rt.block_on([](int port, std::string version) -> task<void> {
        auto c = co_await corio::timeout(
            bound, tls::connect(client_ctx(), co_await tcp_stream::connect({"127.0.0.1", static_cast<std::uint16_t>(port)}),
                                "localhost"));
        CHECK(c.protocol_version() == (version == "-tls1_2" ? "TLSv1.2" : "TLSv1.3"));
        co_await c.write_all("hello openssl\n");
        char buf[14];
        co_await corio::timeout(bound, c.read_exact(buf, sizeof buf));
        CHECK(std::string(buf, sizeof buf) == "lssnepo olleh\n");
      }(peer.port(), version));
    }
    std::remove((dir + "/cert.pem").c_str());
    std::remove((dir + "/key.pem").c_str());
    ::rmdir(dir.c_str());
  }

  TEST_CASE("handshake and echo over TCP (TLS 1.3): ALPN, subject, clean close, resumption") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto sctx = server_ctx();
      sctx.set_alpn_protocols({"h2", "echo/1"});
      auto cctx = client_ctx();
      cctx.set_alpn_protocols({"echo/1", "http/1.1"});
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      for (int round = 0; round < 2; ++round) {
        auto server = spawn(accept_and_echo(l, sctx));
        auto c = co_await tls::connect(cctx, co_await tcp_stream::connect(l.local_address()), "localhost");
        CHECK(c.protocol_version() == "TLSv1.3");
        CHECK(c.alpn_protocol() == "echo/1");
        CHECK(c.peer_subject() == "CN=localhost");
        CHECK(c.session_reused() == (round == 1));  // the ticket of round 0 is offered in round 1
        std::string msg = pattern(200'000);
        auto writer = spawn([](tls::stream<tcp_stream>& c, const std::string& m) -> task<void> {
          co_await c.write_all(m);
        }(c, msg));
        std::string got(msg.size(), '\0');
        co_await corio::timeout(bound, c.read_exact(got.data(), got.size()));
        co_await writer;
        CHECK(fnv(got) == fnv(msg));
        co_await c.shutdown();
        char extra;
        std::size_t n = co_await c.read(&extra, 1);
        CHECK(n == 0);  // the server's close_notify
        co_await server;
      }
    }());
  }

  TEST_CASE("TLS 1.2 only, over a Unix stream pair, with an IP-address host") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto sctx = server_ctx();
      sctx.set_max_version(tls::version::tls1_2);
      auto [a, b] = unix_stream::pair();
      auto server = spawn([](tls::context ctx, unix_stream s) -> task<void> {
        co_await echo(co_await tls::accept(ctx, std::move(s)));
      }(sctx, std::move(a)));
      auto c = co_await tls::connect(client_ctx(), std::move(b), "127.0.0.1");
      CHECK(c.protocol_version() == "TLSv1.2");
      co_await c.write_all("hello over unix");
      char buf[32] = {};
      co_await c.read_exact(buf, 15);
      CHECK(std::string(buf, 15) == "hello over unix");
      co_await c.shutdown();
      co_await server;
    }());
  }

  TEST_CASE("split: one task writes 4 MiB while another reads the echo") {
    auto rt = test::multi(2);
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto server = spawn(accept_and_echo(l, server_ctx()));
      auto c = co_await tls::connect(client_ctx(), co_await tcp_stream::connect(l.local_address()), "localhost");
      auto [r, w] = std::move(c).split();
      std::string msg = pattern(4 << 20);
      auto writer = spawn([](tls::write_half<tcp_stream> w, const std::string& m) -> task<void> {
        for (std::size_t i = 0; i < m.size(); i += 10'000) co_await w.write_all(m.data() + i, std::min<std::size_t>(10'000, m.size() - i));
        co_await w.shutdown();
      }(std::move(w), msg));
      std::string got(msg.size(), '\0');
      co_await corio::timeout(bound, r.read_exact(got.data(), got.size()));
      CHECK(fnv(got) == fnv(msg));
      char extra;
      std::size_t n = co_await r.read(&extra, 1);
      CHECK(n == 0);
      co_await writer;
      co_await server;
    }());
  }

  TEST_CASE("buffered_reader and buffered_writer over a TLS stream") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto server = spawn(accept_and_echo(l, server_ctx()));
      auto c = co_await tls::connect(client_ctx(), co_await tcp_stream::connect(l.local_address()), "localhost");
      {
        buffered_writer out(c);
        for (int i = 0; i < 100; ++i) co_await out.write_all(fmt::format("line {}\n", i));
        co_await out.flush();
      }
      buffered_reader in(c);
      for (int i = 0; i < 100; ++i) {
        auto line = co_await in.next_line();
        REQUIRE(line);
        CHECK(*line == fmt::format("line {}", i));
      }
      co_await c.shutdown();
      co_await server;
    }());
  }

  TEST_CASE("verification failures: untrusted CA, wrong host name, expired certificate") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      struct kase {
        tls::context server, client;
        std::string host, detail;
      };
      kase cases[] = {
          {server_ctx(), client_ctx(keys().other_ca), "localhost", "unable to get local issuer certificate"},
          {server_ctx(), client_ctx(), "example.com", "hostname mismatch"},
          {server_ctx(), client_ctx(), "127.0.0.2", "IP address mismatch"},
          {server_ctx(keys().expired), client_ctx(), "localhost", "certificate has expired"},
      };
      for (auto& k : cases) {
        int fds = test::open_fds();
        auto server = spawn(accept_failure(l, k.server));
        auto e = co_await connect_failure(l.local_address(), k.client, k.host);
        CHECK(e.code() == tls::errc::certificate_verify_failed);
        std::string what = e.what();
        CHECK_MESSAGE(what.find("certificate verify failed: " + k.detail) != std::string::npos, what);
        auto se = co_await server;
        CHECK_MESSAGE(se == tls::errc::handshake_failed, se.message());  // the client's alert, not EOF
        CHECK(test::open_fds() == fds);
      }
      // Verification off (explicitly): the wrong name is accepted.
      auto lax = client_ctx(keys().other_ca);
      lax.disable_verification_dangerous();
      CHECK_FALSE(lax.verifies_peer());
      auto server = spawn(accept_and_echo(l, server_ctx()));
      auto c = co_await tls::connect(lax, co_await tcp_stream::connect(l.local_address()), "example.com");
      co_await c.shutdown();
      co_await server;
    }());
  }

  TEST_CASE("a plaintext client and a truncated handshake: clear errors, no hang") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      {
        auto server = spawn(accept_failure(l, server_ctx()));
        auto raw = co_await tcp_stream::connect(l.local_address());
        co_await raw.write_all("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        auto code = co_await server;
        CHECK(code == tls::errc::handshake_failed);
      }
      {
        // The first 40 bytes of a real ClientHello, then the client goes away.
        auto [a, b] = unix_stream::pair();
        auto cctx = client_ctx();
        auto client = spawn([](tls::context ctx, unix_stream s) -> task<void> {
          co_await tls::connect(ctx, std::move(s), "localhost");
        }(cctx, std::move(a)));
        char hello[40];
        co_await b.read_exact(hello, sizeof hello);
        client.abort();
        try {
          co_await client;
        } catch (const corio::cancelled&) {
        }
        auto server = spawn(accept_failure(l, server_ctx()));
        auto raw = co_await tcp_stream::connect(l.local_address());
        co_await raw.write_all(hello, sizeof hello);
        co_await raw.shutdown();
        auto code = co_await server;
        CHECK(code == tls::errc::unexpected_eof);
      }
    }());
  }

  TEST_CASE("close without close_notify is unexpected_eof; mid-record too; a reset is ECONNRESET") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      for (int how = 0; how < 3; ++how) {
        auto server = spawn([](tcp_listener& l, int how) -> task<void> {
          auto s = co_await tls::accept(server_ctx(), co_await l.accept());
          co_await s.write_all("first");
          char go;
          co_await s.read_exact(&go, 1);  // the client has read "first" (an RST would discard it)
          if (how == 1) {
            const char partial[] = "\x17\x03\x03\x00\x40" "0123456789";  // a record header, part of a body
            co_await s.inner().write_all(partial, sizeof partial - 1);
          }
          if (how == 2) {
            ::linger lg{1, 0};  // close with RST
            ::setsockopt(s.inner().native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
          }
        }(l, how));  // the stream is dropped without close_notify
        auto c = co_await tls::connect(client_ctx(), co_await tcp_stream::connect(l.local_address()), "localhost");
        char buf[5];
        co_await c.read_exact(buf, 5);
        co_await c.write_all("g");
        co_await server;
        try {
          co_await corio::timeout(bound, c.read(buf, sizeof buf));
          FAIL("read after an unclean close succeeded");
        } catch (const std::system_error& e) {
          if (how < 2)
            CHECK_MESSAGE(e.code() == tls::errc::unexpected_eof, e.what());
          else
            CHECK_MESSAGE(e.code().value() == ECONNRESET, e.what());
        }
        try {
          co_await c.write_all("x");
          FAIL("write after a failure succeeded");
        } catch (const std::system_error& e) {
          CHECK(e.code() == tls::errc::stream_unusable);
        }
      }
    }());
  }

  TEST_CASE("cancellation: a timed-out read leaves the stream usable; a cancelled write poisons it") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto server = spawn([](tcp_listener& l) -> task<void> {
        auto s = co_await tls::accept(server_ctx(), co_await l.accept());
        char buf[4];
        co_await s.read_exact(buf, 4);  // "ping"
        co_await s.write_all("pong");
        co_await corio::sleep(60s);  // then reads nothing more (aborted by the test)
      }(l));
      auto c = co_await tls::connect(client_ctx(), co_await tcp_stream::connect(l.local_address()), "localhost");
      char buf[4];
      bool timed_out = false;
      try {
        co_await corio::timeout(20ms, c.read(buf, sizeof buf));
      } catch (const corio::timed_out&) {
        timed_out = true;
      }
      CHECK(timed_out);
      co_await c.write_all("ping");
      co_await c.read_exact(buf, 4);  // still in step with the server
      CHECK(std::string(buf, 4) == "pong");
      // The server no longer reads: a big write fills the socket buffers and times out.
      std::string big(64 << 20, 'x');
      timed_out = false;
      try {
        co_await corio::timeout(200ms, c.write_all(big));
      } catch (const corio::timed_out&) {
        timed_out = true;
      }
      CHECK(timed_out);
      try {
        co_await c.write_all("more");
        FAIL("write after a cancelled write succeeded");
      } catch (const std::system_error& e) {
        CHECK(e.code() == tls::errc::stream_unusable);
        CHECK(std::string(e.what()).find("cancelled") != std::string::npos);
      }
      try {
        co_await c.read(buf, 1);
        FAIL("read after a cancelled write succeeded");
      } catch (const std::system_error& e) {
        CHECK(e.code() == tls::errc::stream_unusable);
      }
      server.abort();
      try {
        co_await server;
      } catch (const corio::cancelled&) {
      }
    }());
  }

  TEST_CASE("fault layer: short transfers under TLS move exactly the bytes") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto server = spawn(accept_and_echo(l, server_ctx()));
      fault::armed shortr(fault::rule::short_transfer(corio::detail::io_kind::recv, 7));
      fault::armed shortw(fault::rule::short_transfer(corio::detail::io_kind::send, 13));
      auto c = co_await tls::connect(client_ctx(), co_await tcp_stream::connect(l.local_address()), "localhost");
      std::string msg = pattern(100'000);
      auto writer = spawn([](tls::stream<tcp_stream>& c, const std::string& m) -> task<void> {
        co_await c.write_all(m);
      }(c, msg));
      std::string got(msg.size(), '\0');
      co_await corio::timeout(bound * 3, c.read_exact(got.data(), got.size()));
      co_await writer;
      CHECK(fnv(got) == fnv(msg));
      CHECK(shortr.fired() > 0);
      CHECK(shortw.fired() > 0);
      co_await c.shutdown();
      co_await server;
    }());
  }

  TEST_CASE("fault layer: a forged ECONNRESET under a TLS read, and bad configuration") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto server = spawn(accept_and_echo(l, server_ctx()));
      auto c = co_await tls::connect(client_ctx(), co_await tcp_stream::connect(l.local_address()), "localhost");
      {
        fault::armed reset(fault::rule::result(corio::detail::io_kind::recv, -ECONNRESET).times(1));
        char buf[8];
        try {
          co_await c.read(buf, sizeof buf);
          FAIL("read succeeded");
        } catch (const std::system_error& e) {
          CHECK(e.code().value() == ECONNRESET);
        }
      }
      try {
        co_await c.write_all("x");
        FAIL("write after a failed read succeeded");
      } catch (const std::system_error& e) {
        CHECK(e.code() == tls::errc::stream_unusable);
      }
      c = {};  // dropped without close_notify: the server sees unexpected_eof, or a reset when
               // the client's socket still held unread bytes as it closed (the kernel sends RST)
      try {
        co_await server;
      } catch (const std::system_error& e) {
        CHECK((e.code() == tls::errc::unexpected_eof || e.code() == std::errc::connection_reset));
      }
    }());
    auto ctx = tls::context::server();
    CHECK_THROWS_WITH_AS(ctx.use_certificate_chain_file("/nonexistent/cert.pem"),
                         doctest::Contains("/nonexistent/cert.pem"), std::system_error);
    CHECK_THROWS_AS(ctx.use_private_key("not a key"), std::system_error);
    ctx.use_certificate_chain(keys().leaf.cert);
    CHECK_THROWS_WITH_AS(ctx.use_private_key(keys().expired.key), doctest::Contains("mismatch"),
                         std::system_error);
    CHECK_THROWS_AS(ctx.set_alpn_protocols({""}), std::system_error);
    rt.block_on([]() -> task<void> {
      auto [a, b] = unix_stream::pair();
      try {
        co_await tls::accept(tls::context::client(), std::move(a));
        FAIL("accepted with a client context");
      } catch (const std::system_error& e) {
        CHECK(e.code() == tls::errc::configuration);
      }
    }());
  }
}
