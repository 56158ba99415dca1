// corio::barrier: rounds, one leader per round, reuse, a cancelled waiter withdrawing its
// arrival, plain threads, and misuse.

#include <doctest/doctest.h>
#include <corio/sync/barrier.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::settle;

namespace {

task<int> rounds_led(barrier& b, int rounds, std::atomic<int>& in_round, int n) {
  int led = 0;
  for (int r = 0; r < rounds; ++r) {
    in_round.fetch_add(1);
    auto res = co_await b.wait();
    // Everyone of round r arrived before anyone of round r left.
    CHECK(in_round.load() >= (r + 1) * n);
    if (res.is_leader()) ++led;
  }
  co_return led;
}

}  // namespace

TEST_SUITE("barrier") {
  TEST_CASE("n tasks meet, exactly one leader per round, round after round") {
    const int n = 20, rounds = 50;
    barrier b(n);
    auto rt = test::multi(2);
    CHECK(b.size() == n);
    std::atomic<int> in_round{0};
    int leaders = rt.block_on([](barrier& b, std::atomic<int>& in_round) -> task<int> {
      std::vector<join_handle<int>> hs;
      for (int i = 0; i < n; ++i) hs.push_back(spawn(rounds_led(b, rounds, in_round, n)));
      int total = 0;
      for (auto& h : hs) total += co_await h;
      co_return total;
    }(b, in_round));
    CHECK(leaders == rounds);
  }

  TEST_CASE("a barrier of one never waits") {
    barrier b(1);
    auto rt = test::single();
    rt.block_on([](barrier& b) -> task<void> {
      for (int i = 0; i < 3; ++i) {
        auto r = co_await b.wait();
        CHECK(r.is_leader());
      }
    }(b));
  }

  TEST_CASE("a waiter cancelled while it waits withdraws its arrival") {
    barrier b(2);
    auto rt = test::single();
    rt.block_on([](barrier& b) -> task<void> {
      auto a = spawn([](barrier& b) -> task<void> { (void)co_await b.wait(); }(b));
      co_await settle();
      a.abort();
      CHECK_THROWS_AS(co_await a, cancelled);
      auto c = spawn([](barrier& b) -> task<bool> { co_return (co_await b.wait()).is_leader(); }(b));
      co_await settle();
      CHECK_FALSE(c.is_finished());  // the round still needs two
      auto me = co_await b.wait();
      CHECK(me.is_leader());
      bool c_led = co_await c;
      CHECK_FALSE(c_led);
    }(b));
  }

  TEST_CASE("a waiter cancelled after its round ended changes nothing") {
    barrier b(2);
    auto rt = test::single();
    rt.block_on([](barrier& b) -> task<void> {
      auto a = spawn([](barrier& b) -> task<void> { (void)co_await b.wait(); }(b));
      co_await settle();
      auto me = co_await b.wait();  // ends the round, releasing a
      CHECK(me.is_leader());
      a.abort();  // before it resumed
      (void)co_await [](join_handle<void>& h) -> task<bool> {
        try {
          co_await h;
        } catch (const cancelled&) {
        }
        co_return true;
      }(a);
      // The next round still needs two fresh arrivals.
      auto c = spawn([](barrier& b) -> task<void> { (void)co_await b.wait(); }(b));
      co_await settle();
      CHECK_FALSE(c.is_finished());
      auto me2 = co_await b.wait();
      CHECK(me2.is_leader());
      co_await c;
    }(b));
  }

  TEST_CASE("more waiters than one wake-up batch are all released") {
    barrier b(41);
    auto rt = test::single();
    rt.block_on([](barrier& b) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 40; ++i) hs.push_back(spawn([](barrier& b) -> task<void> { (void)co_await b.wait(); }(b)));
      co_await settle();
      auto me = co_await b.wait();
      CHECK(me.is_leader());
      for (auto& h : hs) co_await h;
    }(b));
  }

  TEST_CASE("plain threads and tasks at one barrier") {
    barrier b(3);
    std::atomic<int> leaders{0};
    auto rt = test::multi(2);
    std::vector<std::thread> ts;
    for (int i = 0; i < 2; ++i)
      ts.emplace_back([&] {
        for (int r = 0; r < 100; ++r)
          if (b.blocking_wait().is_leader()) ++leaders;
      });
    rt.block_on([](barrier& b, std::atomic<int>& leaders) -> task<void> {
      for (int r = 0; r < 100; ++r)
        if ((co_await b.wait()).is_leader()) ++leaders;
    }(b, leaders));
    for (auto& t : ts) t.join();
    CHECK(leaders.load() == 100);
  }

  TEST_CASE("misuse: zero participants, blocking_wait on a worker thread") {
    CHECK_THROWS_AS(barrier(0), std::invalid_argument);
    barrier b(2);
    auto rt = test::single();
    rt.block_on([](barrier& b) -> task<void> {
      CHECK_THROWS_AS((void)b.blocking_wait(), usage_error);
      co_return;
    }(b));
  }
}
