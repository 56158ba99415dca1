// Aborting tasks blocked in accept, read, connect, timeout and select over I/O: the operation
// is cancelled in the kernel, the frame (and buffer) lives until the completion arrives, and
// no descriptor leaks.

#include <doctest/doctest.h>
#include <corio/io/net.hpp>

#include <vector>

#include "support/fds.hpp"
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
      auto l = tcp_listener::bind({"127.0.0.1", 0});
      auto client = co_await tcp_stream::connect(l.local_address());
      auto server = co_await l.accept();
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
