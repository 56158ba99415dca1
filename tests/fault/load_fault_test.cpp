// Load and the edges of time: cancellation racing completion (accept, open, connect, read),
// channels that lose their receiver or are closed while full, shutdown with a million pending
// tasks and thousands blocked on I/O and timers, and timers at zero, below zero, at the end
// of time and by the million over 30 days. Sizes shrink under the sanitizers
// (CORIO_TEST_SCALE). tests/stress/ has the 10,000-connection echo (item 3) and the real
// EMFILE accept loop (item 4).

#include <doctest/doctest.h>
#include <corio/io/fs.hpp>
#include <corio/io/net.hpp>
#include <corio/sync/mpsc.hpp>
#include <corio/sync/notify.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <vector>

#include "support/counted.hpp"
#include "support/fds.hpp"
#include "support/process.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace corio::net;
using namespace std::chrono_literals;

TEST_SUITE("load_fault") {
  TEST_CASE("5. cancellation racing completion (accept, open, connect, read): no descriptor leaks") {
    int before = test::open_fds();
    {
      auto rt = test::multi();
      const int rounds = static_cast<int>(test::scaled(400));
      rt.block_on([](int rounds) -> task<void> {
        auto l = tcp_listener::bind({"127.0.0.1", 0}, {.backlog = 1024});
        auto addr = l.local_address();
        std::minstd_rand rng(5);
        for (int i = 0; i < rounds; ++i) {
          // Four operations that each may complete just as they are aborted; the abort lands
          // after 0..3 yields, so it meets them before, during and after completion.
          std::vector<join_handle<void>> hs;
          hs.push_back(spawn([](tcp_listener& l) -> task<void> { auto s = co_await l.accept(); }(l)));
          hs.push_back(spawn([](socket_address a) -> task<void> {
            auto s = co_await tcp_stream::connect(a);
            char c;
            (void)co_await s.read(&c, 1);
          }(addr)));
          hs.push_back(spawn([]() -> task<void> { auto f = co_await fs::file::open("/dev/null"); }()));
          for (int y = static_cast<int>(rng() % 4); y > 0; --y) co_await yield_now();
          for (auto& h : hs) h.abort();
          for (auto& h : hs) {
            try {
              co_await h;
            } catch (const cancelled&) {
            }
          }
        }
        // Connections the listener never accepted are still in its backlog: closed with it.
      }(rounds));
    }
    CHECK(test::open_fds() == before);
  }

  TEST_CASE("6. a receiver dropped with messages queued, close then drain, cancelled sends: each message once") {
    test::counted::reset();
    {
      auto rt = test::multi();
      rt.block_on([]() -> task<void> {
        // Dropped with messages queued: each destroyed once.
        {
          auto [tx, rx] = mpsc::bounded<test::counted>(8);
          for (int i = 0; i < 8; ++i) co_await tx.send(test::counted(i));
          { auto drop = std::move(rx); }
          CHECK(test::counted::alive() == 0);
          CHECK_THROWS(co_await tx.send(test::counted(99)));  // handed back inside the error
        }
        CHECK(test::counted::alive() == 0);
        // Close, then drain: what was queued still arrives, in order; new sends are refused.
        {
          auto [tx, rx] = mpsc::bounded<test::counted>(8);
          for (int i = 0; i < 5; ++i) co_await tx.send(test::counted(i));
          rx.close();
          CHECK_THROWS(co_await tx.send(test::counted(5)));
          std::vector<int> got;
          while (auto m = co_await rx.recv()) got.push_back(m->value);
          CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
        }
        CHECK(test::counted::alive() == 0);
        // Senders blocked on a full channel, aborted: their messages are destroyed, never
        // delivered; the others arrive once each.
        {
          auto [tx, rx] = mpsc::bounded<test::counted>(1);
          co_await tx.send(test::counted(-1));
          std::vector<join_handle<void>> senders;
          for (int i = 0; i < 10; ++i)
            senders.push_back(spawn([](mpsc::sender<test::counted> tx, int i) -> task<void> {
              co_await tx.send(test::counted(i));
            }(tx, i)));
          co_await sleep(5ms);  // let them all block
          for (int i = 0; i < 10; i += 2) senders[static_cast<std::size_t>(i)].abort();
          { auto drop = std::move(tx); }
          std::multiset<int> got;
          while (auto m = co_await rx.recv()) got.insert(m->value);
          for (auto& h : senders) {
            try {
              co_await h;
            } catch (const cancelled&) {
            }
          }
          CHECK(got.count(-1) == 1);
          for (int i = 1; i < 10; i += 2) CHECK(got.count(i) == 1);  // never aborted
          for (int i = 0; i < 10; i += 2) CHECK(got.count(i) <= 1);  // aborted: at most once
        }
      }());
    }
    CHECK(test::counted::alive() == 0);
  }

  TEST_CASE("7. shutdown with a million pending tasks and thousands blocked on I/O and timers") {
    test::counted::reset();
    const long pending = test::scaled(1'000'000), blocked = test::scaled(4'000);
    int fds_before = test::open_fds();
    int threads_before = test::thread_count();
    auto start = std::chrono::steady_clock::now();
    {
      auto rt = test::multi(2);
      rt.block_on([](long pending, long blocked) -> task<void> {
        static notify never;
        for (long i = 0; i < pending; ++i)
          spawn([](test::counted c) -> task<void> {
            (void)c;
            co_await never.notified();
          }(test::counted(static_cast<int>(i))))
              .detach();
        for (long i = 0; i < blocked; ++i) {
          spawn([](test::counted c) -> task<void> {  // blocked in the kernel, on a buffer in the frame
            (void)c;
            auto [a, b] = unix_stream::pair();
            char buf[256];
            (void)co_await a.read(buf, sizeof buf);
          }(test::counted(-1)))
              .detach();
          spawn([](test::counted c) -> task<void> {
            (void)c;
            co_await sleep(24h);
          }(test::counted(-2)))
              .detach();
        }
        (void)co_await spawn_blocking([] { return 0; });  // a blocking-pool thread too
        co_await sleep(10ms);  // let them all reach their waits
      }(pending, blocked));
    }
    CHECK(test::counted::alive() == 0);  // every frame destroyed, once (counted would go < 0)
    CHECK(test::counted::constructed.load() == test::counted::destroyed.load());
    CHECK(std::chrono::steady_clock::now() - start < 120s);
    CHECK(test::open_fds() == fds_before);
    CHECK(test::thread_count() == threads_before);  // no worker or pool thread left behind
  }

  TEST_CASE("8. timers at zero, below zero and at the end of time; a million over 30 days of paused time") {
    auto rt = test::paused();
    const long n = test::scaled(1'000'000);
    rt.block_on([](long n) -> task<void> {
      auto t0 = now();
      co_await sleep(0ms);
      co_await sleep(-5s);
      co_await sleep(std::chrono::nanoseconds::min());
      co_await sleep_until(clock::time_point::min());
      CHECK(now() == t0);  // none of them waited
      // The end of time: saturates, never wraps into the past; cancelled by a timeout.
      CHECK_THROWS_AS(co_await timeout(1h, sleep(std::chrono::nanoseconds::max())), timed_out);
      CHECK_THROWS_AS(co_await timeout(1h, sleep(std::chrono::hours::max())), timed_out);
      CHECK_THROWS_AS(co_await timeout(1h, sleep_until(clock::time_point::max())), timed_out);
      CHECK(now() - t0 >= 3h);
      CHECK(now() - t0 < 3h + 10ms);
      // A million timers over 30 days, each checked against its deadline: no early firing,
      // lateness at most one 1 ms tick.
      std::mt19937_64 rng(17);
      const long span_ms = 30L * 24 * 3600 * 1000;
      auto base = now();
      std::atomic<long> fired{0}, early{0}, late{0};
      std::vector<join_handle<void>> hs;
      hs.reserve(static_cast<std::size_t>(n));
      for (long i = 0; i < n; ++i) {
        auto at = base + std::chrono::milliseconds(static_cast<long>(rng() % static_cast<std::uint64_t>(span_ms))) +
                  std::chrono::microseconds(static_cast<long>(rng() % 1000));
        hs.push_back(spawn([](clock::time_point at, std::atomic<long>& f, std::atomic<long>& e, std::atomic<long>& l) -> task<void> {
          co_await sleep_until(at);
          auto t = now();
          if (t < at) ++e;
          if (t - at > 1ms) ++l;
          ++f;
        }(at, fired, early, late)));
      }
      for (auto& h : hs) co_await h;
      CHECK(fired.load() == n);
      CHECK(early.load() == 0);
      CHECK(late.load() == 0);
      CHECK(now() - base <= std::chrono::milliseconds(span_ms + 1));
    }(n));
  }
}
