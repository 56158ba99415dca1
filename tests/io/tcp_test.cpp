// TCP on loopback: connect/accept, read/write, read_exact/write_all, shutdown, split halves,
// addresses, options, and the errors (refused, reset, closed descriptors, EOF).

#include <doctest/doctest.h>
#include <corio/io/net.hpp>

#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "support/resolver.hpp"
#include "support/loopback.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace corio::net;
using namespace std::chrono_literals;

namespace {

task<void> echo_once(tcp_listener& l) {
  tcp_stream s = co_await l.accept();
  char buf[4096];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) break;
    co_await s.write_all(buf, n);
  }
}

}  // namespace

TEST_SUITE("tcp") {
  TEST_CASE("connect, accept, echo, end of stream") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto addr = l.local_address();
      CHECK(addr.port() != 0);
      auto server = spawn(echo_once(l));
      tcp_stream c = co_await tcp_stream::connect(addr);
      c.set_nodelay(true);
      CHECK(c.nodelay());
      CHECK(c.peer_address() == addr);
      std::string msg(100'000, 'x');
      for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
      auto writer = spawn([](tcp_stream& c, const std::string& m) -> task<void> {
        co_await c.write_all(m);
        co_await c.shutdown();
      }(c, msg));
      std::string got(msg.size(), '\0');
      co_await c.read_exact(got.data(), got.size());
      CHECK(got == msg);
      char extra;
      CHECK(co_await c.read(&extra, 1) == 0);  // the server closed after our shutdown
      co_await writer;
      co_await server;
    }());
  }

  TEST_CASE("connect to a closed port: ECONNREFUSED naming the address") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto addr = l.local_address();
      l.close();
      try {
        co_await tcp_stream::connect(addr);
        FAIL("connected to a closed port");
      } catch (const std::system_error& e) {
        CHECK(e.code().value() == ECONNREFUSED);
        CHECK(std::string(e.what()).find(addr.to_string()) != std::string::npos);
      }
    }());
  }

  TEST_CASE("read_exact reports the end of stream with what arrived") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [client, server] = co_await test::tcp_loopback();
      co_await server.write_all("abc");
      server.close();
      char buf[10];
      try {
        co_await client.read_exact(buf, sizeof buf);
        FAIL("no error");
      } catch (const unexpected_eof& e) {
        CHECK(e.got() == 3);
        CHECK(e.wanted() == 10);
      }
    }());
  }

  TEST_CASE("writing to a reset peer is an error, not SIGPIPE") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto client = co_await tcp_stream::connect(l.local_address());
      {
        auto server = co_await l.accept();
        ::linger lg{1, 0};  // close with RST
        ::setsockopt(server.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      std::vector<char> big(1 << 20, 'z');
      try {
        for (int i = 0; i < 100; ++i) co_await client.write_all(big.data(), big.size());
        FAIL("writes kept succeeding");
      } catch (const std::system_error& e) {
        int v = e.code().value();
        CHECK((v == EPIPE || v == ECONNRESET));
      }
    }());
  }

  TEST_CASE("a closed or moved-from stream fails with EBADF") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      tcp_stream s;
      char c;
      try {
        co_await s.read(&c, 1);
        FAIL("no error");
      } catch (const std::system_error& e) {
        CHECK(e.code().value() == EBADF);
      }
      try {
        co_await s.write("x");
        FAIL("no error");
      } catch (const std::system_error& e) {
        CHECK(e.code().value() == EBADF);
      }
    }());
  }

  TEST_CASE("split halves are used by two tasks at once") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto server = spawn(echo_once(l));
      auto [rd, wr] = (co_await tcp_stream::connect(l.local_address())).split();
      constexpr int n = 1000;
      auto writer = spawn([](write_half& w) -> task<void> {
        for (int i = 0; i < n; ++i) co_await w.write_all(std::to_string(i % 10));
        co_await w.shutdown();
      }(wr));
      std::string all;
      char buf[256];
      for (;;) {
        std::size_t k = co_await rd.read(buf, sizeof buf);
        if (k == 0) break;
        all.append(buf, k);
      }
      co_await writer;
      co_await server;
      CHECK(all.size() == n);
      CHECK(all.substr(0, 10) == "0123456789");
    }());
  }

  TEST_CASE("bind errors name the address") {
    auto l = tcp_listener::bind({"127.0.0.1", 0});
    try {
      auto again = tcp_listener::bind(l.local_address(), {.backlog = 16, .reuse_address = false});
      FAIL("bound twice");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EADDRINUSE);
      CHECK(std::string(e.what()).find(l.local_address().to_string()) != std::string::npos);
    }
    CHECK_THROWS_AS(tcp_listener::bind(socket_address::unix_path("/tmp/x")), std::invalid_argument);
  }

  TEST_CASE("connect with a timeout") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto s = co_await tcp_stream::connect(l.local_address(), 5s);
      CHECK(s.is_open());
    }());
  }

  // --- connect by host name (issue 18) ---------------------------------------------------------

  TEST_CASE("connect(host, port) and connect(\"host:port\") resolve and connect") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      const std::uint16_t port = l.local_address().port();
      auto a = co_await tcp_stream::connect("127.0.0.1", port);
      CHECK(a.peer_address() == l.local_address());
      auto b = co_await tcp_stream::connect(fmt::format("127.0.0.1:{}", port));
      CHECK(b.peer_address() == l.local_address());
      auto c = co_await tcp_stream::connect(std::string("[127.0.0.1]:") + std::to_string(port));
      CHECK(c.peer_address() == l.local_address());
      if (test::system_resolves("localhost")) {
        // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
        auto d = co_await tcp_stream::connect("localhost", port);
        CHECK(d.peer_address() == l.local_address());
      } else {
        MESSAGE("this system cannot resolve 'localhost'; that part skipped");
      }
    }());
  }

  TEST_CASE("connect(host, port) errors name the host, the port and the last error") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      std::uint16_t port;
      {
        auto l = tcp_listener::bind({"127.0.0.1", 0});
        port = l.local_address().port();
      }  // closed: nothing listens there now
      std::string what;
      int code = 0;
      try {
        co_await tcp_stream::connect("127.0.0.1", port);
      } catch (const std::system_error& e) {
        what = e.what();
        code = e.code().value();
      }
      CHECK(code == ECONNREFUSED);
      CHECK(what.find(fmt::format("connect to 127.0.0.1:{}", port)) != std::string::npos);
      CHECK(what.find("1 address tried") != std::string::npos);
      what.clear();
      try {
        co_await tcp_stream::connect("no-such-host.invalid", 80);
      } catch (const std::system_error& e) {
        what = e.what();
      }
      CHECK(what.find("no-such-host.invalid:80") != std::string::npos);
      for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "::1:80", "127.0.0.1:8x"}) {
        what.clear();
        try {
          co_await tcp_stream::connect(std::string_view(bad));
        } catch (const std::invalid_argument& e) {
          what = e.what();
        }
        INFO(bad);
        CHECK(what.find(bad) != std::string::npos);
      }
    }());
  }
}
