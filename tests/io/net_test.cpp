// Socket addresses, UDP, Unix-domain sockets, resolve.

#include <doctest/doctest.h>
#include <corio/io/net.hpp>

#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/resolver.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace corio::net;

TEST_SUITE("net") {
  TEST_CASE("socket_address parses and prints IPv4, IPv6 and Unix addresses") {
    CHECK(socket_address::parse("127.0.0.1:80").to_string() == "127.0.0.1:80");
    CHECK(socket_address::parse("[::1]:443").to_string() == "[::1]:443");
    CHECK(socket_address::parse("[::1]:443").is_ipv6());
    CHECK(socket_address::parse("unix:/tmp/x.sock").to_string() == "unix:/tmp/x.sock");
    CHECK(socket_address::parse("unix:@abstract").to_string() == "unix:@abstract");
    CHECK(socket_address("10.0.0.1", 8080).port() == 8080);
    CHECK(socket_address("::", 1).is_ipv6());
    CHECK(socket_address::parse("1.2.3.4:5") == socket_address("1.2.3.4", 5));
  }

  TEST_CASE("bad addresses are rejected with the text and the reason") {
    CHECK_THROWS_WITH_AS(socket_address::parse("localhost:80"), doctest::Contains("not a numeric"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address::parse("1.2.3.4"), doctest::Contains("missing ':port'"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address::parse("1.2.3.4:99999"), doctest::Contains("0..65535"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address::parse("::1:80"), doctest::Contains("brackets"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address::parse(":80"), doctest::Contains("missing host"), std::invalid_argument);
    CHECK_THROWS_AS(socket_address::unix_path(std::string(200, 'x')), std::invalid_argument);
    CHECK_THROWS_AS(socket_address::unix_path(""), std::invalid_argument);
  }

  TEST_CASE("text with an embedded NUL is rejected, naming the problem (issue 17)") {
    using namespace std::string_view_literals;
    CHECK_THROWS_WITH_AS(socket_address::parse("127.0.0.1\0garbage:80"sv), doctest::Contains("NUL byte"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address::parse("127.0.0.1:8\0"sv), doctest::Contains("NUL byte"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address("::1\0x"sv, 80), doctest::Contains("NUL byte"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address::parse("unix:/tmp/a\0b"sv), doctest::Contains("NUL byte"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(socket_address::unix_path("@abs\0tract"sv), doctest::Contains("NUL byte"), std::invalid_argument);
    // The message shows the NUL instead of ending at it.
    CHECK_THROWS_WITH_AS(socket_address::parse("127.0.0.1\0garbage:80"sv), doctest::Contains("127.0.0.1\\0garbage:80"),
                         std::invalid_argument);
    // What parses prints back to the same address.
    for (const char* text : {"127.0.0.1:80", "[::1]:443", "unix:/tmp/x.sock", "unix:@abstract"}) {
      auto a = socket_address::parse(text);
      CHECK(socket_address::parse(a.to_string()) == a);
    }
  }

  TEST_CASE("UDP: send_to, recv_from, connect") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto a = udp_socket::bind({"127.0.0.1", 0});
      auto b = udp_socket::bind({"127.0.0.1", 0});
      std::string msg = "datagram";
      CHECK(co_await a.send_to(msg.data(), msg.size(), b.local_address()) == msg.size());
      char buf[64];
      auto [n, from] = co_await b.recv_from(buf, sizeof buf);
      CHECK(std::string(buf, n) == msg);
      CHECK(from == a.local_address());
      b.connect(a.local_address());
      CHECK(co_await b.send("back", 4) == 4);
      auto [m, from2] = co_await a.recv_from(buf, sizeof buf);
      CHECK(std::string(buf, m) == "back");
      CHECK(from2 == b.local_address());
    }());
  }

  TEST_CASE("Unix stream sockets: listener, connect, pair") {
    auto rt = test::multi();
    std::string path = "/tmp/corio-test-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    rt.block_on([](std::string path) -> task<void> {
      auto l = unix_listener::bind(socket_address::unix_path(path));
      auto c = co_await unix_stream::connect(socket_address::unix_path(path));
      auto s = co_await l.accept();
      co_await c.write_all("hello");
      char buf[8];
      co_await s.read_exact(buf, 5);
      CHECK(std::string(buf, 5) == "hello");
      auto [x, y] = unix_stream::pair();
      co_await x.write_all("p");
      CHECK(co_await y.read(buf, 8) == 1);
    }(path));
    ::unlink(path.c_str());
  }

  TEST_CASE("Unix datagram sockets") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [a, b] = unix_datagram::pair();
      CHECK(co_await a.send("one", 3) == 3);
      char buf[8];
      CHECK(co_await b.recv(buf, sizeof buf) == 3);
    }());
  }

  TEST_CASE("resolve: localhost") {
    if (!test::system_resolves("localhost")) {
      MESSAGE("this system cannot resolve 'localhost' (no /etc/hosts entry?); skipped");
      return;
    }
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto addrs = co_await resolve("localhost", 8080);
      REQUIRE_FALSE(addrs.empty());
      CHECK(addrs.front().port() == 8080);
    }());
  }

  TEST_CASE("resolve: a numeric host, and an unknown host") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto numeric = co_await resolve("127.0.0.1", 1);
      std::string nul_error;
      try {
        co_await resolve(std::string("127.0.0.1\0x", 11), 1);
      } catch (const std::invalid_argument& e) {
        nul_error = e.what();
      }
      CHECK(nul_error.find("NUL byte") != std::string::npos);
      CHECK(numeric.front().to_string() == "127.0.0.1:1");
      try {
        co_await resolve("no-such-host.invalid", 80);
        FAIL("resolved an invalid name");
      } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("no-such-host.invalid") != std::string::npos);
      }
    }());
  }

  TEST_CASE("resolve: a numeric host is parsed without the blocking pool; names wait for it") {
    // The pool's only thread is held by a job until the end: a numeric host still resolves
    // (bounded by a timeout: through the pool it would wait), a name waits its turn.
    auto rt = runtime::builder().worker_threads(2).max_blocking_threads(1).build();
    rt.block_on([]() -> task<void> {
      std::promise<void> release;
      std::shared_future<void> released = release.get_future().share();
      struct release_on_exit {  // a failed check must not leave the pool's thread held
        std::promise<void>* p;
        ~release_on_exit() {
          if (p) p->set_value();
        }
      } guard{&release};
      auto hold = [released] { released.wait(); };
      auto holder = spawn_blocking(hold);
      auto v4 = co_await timeout(std::chrono::seconds(30), resolve("127.0.0.1", 7));
      auto v6 = co_await timeout(std::chrono::seconds(30), resolve("::1", 8));
      REQUIRE(v4.size() == 1);
      CHECK(v4.front().to_string() == "127.0.0.1:7");
      REQUIRE(v6.size() == 1);
      CHECK(v6.front().to_string() == "[::1]:8");
      // A name needs the pool: it cannot finish while the thread is held, so it loses a
      // timeout (and is dropped: its job is discarded when it runs).
      bool timed_out_name = false;
      try {
        co_await timeout(std::chrono::milliseconds(0), resolve("localhost", 10));
      } catch (const corio::timed_out&) {
        timed_out_name = true;
      }
      CHECK(timed_out_name);
      if (test::system_resolves("localhost")) {
        auto by_name = spawn(resolve("localhost", 9));  // queued behind the holder
        std::exchange(guard.p, nullptr)->set_value();
        auto addrs = co_await std::move(by_name);
        REQUIRE_FALSE(addrs.empty());
        CHECK(addrs.front().port() == 9);
      } else {
        std::exchange(guard.p, nullptr)->set_value();
      }
      co_await std::move(holder);
    }());
  }

  TEST_CASE("resolve: many names at once share the blocking pool") {
    if (!test::system_resolves("localhost")) {
      MESSAGE("this system cannot resolve 'localhost' (no /etc/hosts entry?); skipped");
      return;
    }
    auto rt = runtime::builder().worker_threads(2).max_blocking_threads(2).build();
    rt.block_on([]() -> task<void> {
      std::vector<task<std::vector<socket_address>>> lookups;
      for (std::uint16_t i = 0; i < 64; ++i) lookups.push_back(resolve("localhost", static_cast<std::uint16_t>(1000 + i)));
      auto all = co_await join_all(std::move(lookups));
      REQUIRE(all.size() == 64);
      for (std::size_t i = 0; i < all.size(); ++i) {
        REQUIRE_FALSE(all[i].empty());
        CHECK(all[i].front().port() == 1000 + i);
      }
    }());
  }

  TEST_CASE("short reads: a big buffer takes what is there") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [a, b] = unix_stream::pair();
      co_await a.write_all("12345");
      char buf[1024];
      CHECK(co_await b.read(buf, sizeof buf) == 5);
    }());
  }
}
