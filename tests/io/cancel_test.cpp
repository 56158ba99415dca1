// Aborting tasks blocked in accept, read, connect, timeout and select over I/O: the operation
// is cancelled in the kernel, the frame (and buffer) lives until the completion arrives, and
// no descriptor leaks.

#include <doctest/doctest.h>
#include <corio/io/net.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "support/fds.hpp"
#include "support/loopback.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace corio::net;
using namespace std::chrono_literals;

TEST_SUITE("io_cancel") {
  TEST_CASE("aborting tasks blocked in accept and read leaks no descriptor") {
    for (bool multi : {false, true}) {
      auto rt = multi ? test::multi() : test::single();
      int before = test::open_fds();
      rt.block_on([]() -> task<void> {
        auto l = tcp_listener::bind({"127.0.0.1", 0});
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 20; ++i)
          hs.push_back(spawn([](tcp_listener& l) -> task<void> { co_await l.accept(); }(l)));
        std::vector<tcp_stream> conns;
        for (int i = 0; i < 10; ++i) conns.push_back(co_await tcp_stream::connect(l.local_address()));
        // Some accepts complete (the backlog has connections), some are cancelled mid-flight.
        for (int i = 0; i < 10; ++i) co_await yield_now();
        for (auto& h : hs) h.abort();
        for (auto& h : hs) {
          try {
            co_await h;
          } catch (const cancelled&) {
          }
        }
        // Reads on connections whose peer never writes block until aborted.
        std::vector<std::pair<unix_stream, unix_stream>> pairs;
        for (int i = 0; i < 20; ++i) pairs.push_back(unix_stream::pair());
        std::vector<join_handle<std::size_t>> readers;
        for (auto& p : pairs)
          readers.push_back(spawn([](unix_stream& s) -> task<std::size_t> {
            char buf[64];
            co_return co_await s.read(buf, sizeof buf);
          }(p.first)));
        for (int i = 0; i < 10; ++i) co_await yield_now();
        for (auto& r : readers) r.abort();
        for (auto& r : readers) CHECK_THROWS_AS(co_await r, cancelled);
      }());
      CHECK(test::open_fds() == before);
    }
  }

  TEST_CASE("timeout on a read cancels it; the stream stays usable") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [client, server] = co_await test::tcp_loopback();
      char buf[16];
      CHECK_THROWS_AS(co_await timeout(20ms, client.read(buf, sizeof buf)), timed_out);
      co_await server.write_all("after");
      std::size_t n = co_await client.read(buf, sizeof buf);
      CHECK(std::string(buf, n) == "after");
    }());
  }

  TEST_CASE("select between a read and a sleep: the losing read is cancelled") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [a, b] = unix_stream::pair();
      char buf[8];
      auto r = co_await select(detail::as_task(a.read(buf, sizeof buf)), detail::as_task(sleep(10ms)));
      CHECK(r.index() == 1);
      co_await b.write_all("x");
      CHECK(co_await a.read(buf, sizeof buf) == 1);
    }());
  }

  // A read that loses to a branch that is ready at once, with bytes already waiting: under
  // io_uring its request reaches the kernel with its cancellation and completes first, so the
  // bytes it took must come back from the stream's next read; under epoll it reads them at once
  // and wins. Either way the stream yields every byte once, in order.
  TEST_CASE("a read that completes as it loses a select leaves its bytes to the next read") {
    for (int mode = 0; mode < 3; ++mode) {
      CAPTURE(mode);
      auto rt = test::multi();
      rt.block_on([](int mode) -> task<void> {
        auto [a, b] = unix_stream::pair();
        co_await b.write_all("hello, world");
        char buf[5];
        std::string seen;
        auto r = co_await select(a.read(buf, sizeof buf), yield_now());
        if (r.index() == 0) seen.append(buf, std::get<0>(r));
        char rest[32] = {};
        if (mode == 0) {  // read_exact takes the kept bytes first
          std::size_t want = 12 - seen.size();
          co_await a.read_exact(rest, want);
          seen.append(rest, want);
        } else if (mode == 1) {  // so does a read half
          auto [rd, wr] = std::move(a).split();
          while (seen.size() < 12) seen.append(rest, co_await rd.read(rest, sizeof rest));
        } else {  // a one-byte read takes one kept byte at a time
          while (seen.size() < 12) seen.append(rest, co_await a.read(rest, 1));
        }
        CHECK(seen == "hello, world");
      }(mode));
    }
  }

  TEST_CASE("a read that meets the end of the stream as it loses a select: the next read returns 0") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [a, b] = unix_stream::pair();
      co_await b.write_all("ab");
      b.close();
      char buf[8];
      std::string seen;
      for (int round = 0; round < 4 && seen.find("<eof>") == std::string::npos; ++round) {  // each may lose
        auto r = co_await select(a.read(buf, sizeof buf), yield_now());
        if (r.index() == 0) seen += std::get<0>(r) ? std::string(buf, std::get<0>(r)) : std::string("<eof>");
      }
      while (seen.find("<eof>") == std::string::npos) {
        std::size_t n = co_await a.read(buf, sizeof buf);
        seen += n ? std::string(buf, n) : std::string("<eof>");
      }
      CHECK(seen == "ab<eof>");
      CHECK(co_await a.read(buf, sizeof buf) == 0);  // and stays at the end
    }());
  }

  TEST_CASE("read_stash: bytes in order, then the end of the stream; an error is reported once") {
    detail::read_stash st;
    char b[8] = {};
    int res = 99;
    CHECK(st.empty());
    CHECK(!st.take(b, 8, res));  // nothing kept: ask the kernel
    st.keep(-ECANCELED, nullptr);  // nothing happened
    CHECK(st.empty());
    st.keep(5, "hello");
    st.keep(3, "abc");  // appended after what is kept
    st.keep(0, nullptr);
    REQUIRE(st.take(b, 2, res));
    CHECK(res == 2);
    CHECK(std::string(b, 2) == "he");
    REQUIRE(st.take(b, 8, res));
    CHECK(res == 6);
    CHECK(std::string(b, 6) == "lloabc");
    CHECK(!st.empty());
    res = 99;
    REQUIRE(st.take(b, 8, res));
    CHECK(res == 0);  // the end, kept
    CHECK(st.empty());  // reported once: the kernel says it again (a terminal may not)
    detail::read_stash err;
    err.keep(-ECONNRESET, nullptr);
    REQUIRE(err.take(b, 8, res));
    CHECK(res == -ECONNRESET);
    CHECK(err.empty());  // reported once; the socket answers from then on
    CHECK(!err.take(b, 8, res));
  }

  TEST_CASE("read_stash: a move hands over what is kept and leaves the source empty") {
    detail::read_stash a;
    a.keep(3, "xyz");
    a.keep(0, nullptr);
    detail::read_stash b(std::move(a));
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from stash is empty
    char buf[8];
    int res = 0;
    CHECK(!a.take(buf, 8, res));
    detail::read_stash c;
    c = std::move(b);
    CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
    REQUIRE(c.take(buf, 8, res));
    CHECK(res == 3);
    CHECK(std::string(buf, 3) == "xyz");
    REQUIRE(c.take(buf, 8, res));
    CHECK(res == 0);
  }

  TEST_CASE("a read that fails as it loses a select: the next read throws the error, once") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [client, server] = co_await test::tcp_loopback();
      linger lg{1, 0};  // close with a reset
      REQUIRE(::setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
      client.close();
      char buf[8];
      int errors = 0;
      for (int round = 0; round < 3; ++round) {
        try {
          (void)co_await select(server.read(buf, sizeof buf), yield_now());
        } catch (const std::system_error& e) {  // epoll: the read ran at once and failed
          CHECK(e.code().value() == ECONNRESET);
          ++errors;
        }
      }
      try {
        (void)co_await server.read(buf, sizeof buf);  // io_uring: the kept error comes out here
      } catch (const std::system_error& e) {
        CHECK(e.code().value() == ECONNRESET);
        CHECK(std::string(e.what()).find("recv") != std::string::npos);
        ++errors;
      }
      CHECK(errors == 1);  // reported once, not lost and not repeated
    }());
  }

  TEST_CASE("aborting a task blocked in connect leaks no descriptor") {
    auto rt = test::multi();
    int before = test::open_fds();
    rt.block_on([]() -> task<void> {
      // A listener with a tiny backlog that never accepts: once the queue is full, further
      // connection attempts stay pending.
      auto l = tcp_listener::bind({"127.0.0.1", 0}, {.backlog = 0});
      std::vector<tcp_stream> fillers;
      std::vector<join_handle<tcp_stream>> pending;
      for (int i = 0; i < 8; ++i) pending.push_back(spawn(tcp_stream::connect(l.local_address())));
      for (int i = 0; i < 20; ++i) co_await yield_now();
      for (auto& p : pending) p.abort();
      for (auto& p : pending) {
        try {
          fillers.push_back(co_await p);  // the ones that connected before the abort
        } catch (const cancelled&) {
        }
      }
    }());
    CHECK(test::open_fds() == before);
  }

  TEST_CASE("shutdown with tasks blocked in I/O completes and closes everything") {
    int before = test::open_fds();
    {
      auto rt = test::multi();
      rt.block_on([]() -> task<void> {
        auto l = std::make_shared<tcp_listener>(tcp_listener::bind({"127.0.0.1", 0}));
        for (int i = 0; i < 50; ++i) {
          auto s = std::make_shared<tcp_stream>(co_await tcp_stream::connect(l->local_address()));
          spawn([](std::shared_ptr<tcp_stream> s) -> task<void> {
            char buf[32];
            co_await s->read(buf, sizeof buf);
          }(s)).detach();
        }
        spawn([](std::shared_ptr<tcp_listener> l) -> task<void> {
          for (;;) co_await l->accept();
        }(l)).detach();
        co_await yield_now();
      }());
    }
    CHECK(test::open_fds() == before);
  }
}
