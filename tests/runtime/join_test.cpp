// join_all, join, try_join, select, task_set and timeout: results, ordering, exceptions and the
// cancellation of children (which must be gone before the helper returns).

#include <doctest/doctest.h>
#include <corio/sync/notify.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "support/mark.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

task<int> after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}
task<void> fail_after(std::chrono::milliseconds d, std::string msg) {
  co_await sleep(d);
  throw std::runtime_error(msg);
}
using test::mark;
using test::slow_marked;

}  // namespace

TEST_SUITE("join") {
  TEST_CASE("join_all returns results in input order, not finish order") {
    auto rt = test::paused();
    auto v = rt.block_on([]() -> task<std::vector<int>> {
      std::vector<task<int>> ts;
      ts.push_back(after(30ms, 1));
      ts.push_back(after(10ms, 2));
      ts.push_back(after(20ms, 3));
      co_return co_await join_all(std::move(ts));
    }());
    CHECK(v == std::vector<int>{1, 2, 3});
  }

  TEST_CASE("join_all runs tasks in parallel on the workers") {
    auto rt = test::multi(2);
    std::atomic<int> inside{0}, peak{0};
    rt.block_on([&]() -> task<void> {
      std::vector<task<void>> ts;
      for (int i = 0; i < 2; ++i)
        ts.push_back([](std::atomic<int>& in, std::atomic<int>& pk) -> task<void> {
          int now = ++in;
          int p = pk.load();
          while (now > p && !pk.compare_exchange_weak(p, now)) {
          }
          // Busy until the other one arrives (bounded): both must be inside at once.
          auto deadline = std::chrono::steady_clock::now() + 10s;
          while (pk.load() < 2 && std::chrono::steady_clock::now() < deadline) {
          }
          --in;
          co_return;
        }(inside, peak));
      co_await join_all(std::move(ts));
    }());
    CHECK(peak.load() == 2);
  }

  TEST_CASE("join_all over void tasks, an empty range, and join handles") {
    auto rt = test::multi();
    std::atomic<int> count{0};
    rt.block_on([&]() -> task<void> {
      std::vector<task<void>> ts;
      for (int i = 0; i < 100; ++i)
        ts.push_back([](std::atomic<int>& c) -> task<void> {
          c.fetch_add(1);
          co_return;
        }(count));
      co_await join_all(std::move(ts));
      auto none = co_await join_all(std::vector<task<int>>{});
      CHECK(none.empty());
      std::vector<join_handle<int>> hs;
      for (int i = 0; i < 10; ++i) hs.push_back(spawn(after(1ms, i)));
      auto r = co_await join_all(std::move(hs));
      CHECK(r == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    }());
    CHECK(count.load() == 100);
  }

  TEST_CASE("join_all waits for every task, then rethrows the first exception in input order") {
    auto rt = test::paused();
    std::atomic<int> finished{0};
    std::string what;
    rt.block_on([&]() -> task<void> {
      std::vector<task<void>> ts;
      ts.push_back([](std::atomic<int>& f) -> task<void> {
        co_await sleep(50ms);
        ++f;
      }(finished));
      ts.push_back(fail_after(20ms, "second"));
      ts.push_back(fail_after(10ms, "third"));
      try {
        co_await join_all(std::move(ts));
      } catch (const std::runtime_error& e) {
        what = e.what();
      }
    }());
    CHECK(what == "second");
    CHECK(finished.load() == 1);
  }

  TEST_CASE("join returns a tuple of mixed results") {
    auto rt = test::multi();
    auto [a, b, c] = rt.block_on([]() -> task<std::tuple<int, std::string, std::monostate>> {
      co_return co_await join(after(2ms, 1), []() -> task<std::string> { co_return "two"; }(),
                              []() -> task<void> { co_return; }());
    }());
    CHECK(a == 1);
    CHECK(b == "two");
    (void)c;
  }

  TEST_CASE("try_join: the first failure cancels the rest and is rethrown once they are gone") {
    auto rt = test::paused();
    std::vector<std::string> log;
    std::string what;
    rt.block_on([&]() -> task<void> {
      try {
        co_await try_join(slow_marked(log, "slow"), fail_after(5ms, "failed"), after(1ms, 3));
      } catch (const std::runtime_error& e) {
        what = e.what();
        log.push_back("caught");
      }
    }());
    CHECK(what == "failed");
    CHECK(log == std::vector<std::string>{"slow", "caught"});
  }

  TEST_CASE("try_join returns all results when nothing fails") {
    auto rt = test::paused();
    auto [x, y] = rt.block_on([]() -> task<std::tuple<int, int>> { co_return co_await try_join(after(3ms, 1), after(1ms, 2)); }());
    CHECK(x == 1);
    CHECK(y == 2);
  }

  TEST_CASE("select: the first to finish wins and the losers are gone before it returns") {
    auto rt = test::paused();
    std::vector<std::string> log;
    auto r = rt.block_on([&]() -> task<std::variant<int, int>> {
      auto v = co_await select(slow_marked(log, "loser"), after(5ms, 7));
      log.push_back("returned");
      co_return v;
    }());
    CHECK(r.index() == 1);
    CHECK(std::get<1>(r) == 7);
    CHECK(log == std::vector<std::string>{"loser", "returned"});
  }

  TEST_CASE("select rethrows a winner's exception") {
    auto rt = test::paused();
    std::vector<std::string> log;
    CHECK_THROWS_WITH_AS(rt.block_on([&]() -> task<void> {
      co_await select(slow_marked(log, "x"), fail_after(1ms, "winner threw"));
    }()),
                         "winner threw", std::runtime_error);
    CHECK(log == std::vector<std::string>{"x"});
  }

  TEST_CASE("aborting a task that waits in join_all aborts its children first") {
    auto rt = test::paused();
    std::vector<std::string> log;
    rt.block_on([&]() -> task<void> {
      auto parent = spawn([](std::vector<std::string>& l) -> task<void> {
        mark m{&l, "parent"};
        std::vector<task<int>> ts;
        ts.push_back(slow_marked(l, "child1"));
        ts.push_back(slow_marked(l, "child2"));
        co_await join_all(std::move(ts));
      }(log));
      co_await sleep(1ms);
      parent.abort();
      CHECK_THROWS_AS(co_await parent, cancelled);
    }());
    REQUIRE(log.size() == 3);
    CHECK(log.back() == "parent");  // children unwound before the parent's frame
  }

  TEST_CASE("task_set yields results in finish order and empties") {
    auto rt = test::paused();
    auto order = rt.block_on([]() -> task<std::vector<int>> {
      task_set<int> set;
      set.spawn(after(30ms, 30));
      set.spawn(after(10ms, 10));
      set.spawn(after(20ms, 20));
      CHECK(set.size() == 3);
      std::vector<int> got;
      while (auto r = co_await set.join_next()) got.push_back(*r);
      CHECK(set.empty());
      CHECK_FALSE(co_await set.join_next());
      co_return got;
    }());
    CHECK(order == std::vector<int>{10, 20, 30});
  }

  TEST_CASE("task_set: exceptions and aborted tasks come out of join_next; the destructor aborts") {
    auto rt = test::paused();
    std::vector<std::string> log;
    rt.block_on([&]() -> task<void> {
      task_set<int> set;
      set.spawn([]() -> task<int> {
        co_await sleep(1ms);
        throw std::runtime_error("in set");
      }());
      CHECK_THROWS_WITH_AS(co_await set.join_next(), "in set", std::runtime_error);
      set.spawn(slow_marked(log, "aborted"));
      co_await yield_now();  // let it start, so it has something to unwind
      set.abort_all();
      CHECK_THROWS_AS(co_await set.join_next(), cancelled);
      {
        task_set<int> inner;
        inner.spawn(slow_marked(log, "dropped"));
        co_await yield_now();
      }
      co_await sleep(1ms);
    }());
    CHECK(log == std::vector<std::string>{"aborted", "dropped"});
  }

  TEST_CASE("task_set::abort_all aborts only the tasks in the set now, not those spawned later") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      task_set<int> set;
      set.abort_all();  // on an empty set: nothing to abort, and nothing later either
      set.spawn(after(1ms, 1));
      std::optional<int> first = co_await set.join_next();
      CHECK(first == 1);

      set.spawn(after(1h, 0));
      co_await yield_now();
      set.abort_all();
      set.spawn(after(2ms, 2));  // spawned after the abort: runs to completion
      CHECK_THROWS_AS(co_await set.join_next(), cancelled);
      std::optional<int> late = co_await set.join_next();
      CHECK(late == 2);
      CHECK(set.empty());
    }());
  }

  TEST_CASE("task_set reuses slots across many spawns") {
    auto rt = test::multi();
    long sum = rt.block_on([]() -> task<long> {
      task_set<int> set;
      long s = 0;
      for (int round = 0; round < 100; ++round) {
        for (int i = 0; i < 10; ++i) set.spawn([](int v) -> task<int> { co_return v; }(i));
        while (auto r = co_await set.join_next()) s += *r;
      }
      co_return s;
    }());
    CHECK(sum == 100 * 45);
  }

  TEST_CASE("timeout: a result in time is returned") {
    auto rt = test::paused();
    CHECK(rt.block_on([]() -> task<int> { co_return co_await timeout(10ms, after(5ms, 9)); }()) == 9);
  }

  TEST_CASE("timeout: too slow throws timed_out after the inner work has unwound") {
    auto rt = test::paused();
    std::vector<std::string> log;
    auto start = std::chrono::steady_clock::now();
    rt.block_on([&]() -> task<void> {
      try {
        co_await timeout(10min, slow_marked(log, "inner"));
      } catch (const timed_out& e) {
        log.push_back(std::string("timed out: ") + e.what());
      }
    }());
    CHECK(std::chrono::steady_clock::now() - start < 30s);  // paused time: no real 10 minutes
    REQUIRE(log.size() == 2);
    CHECK(log[0] == "inner");
    CHECK(log[1].find("within 600 s") != std::string::npos);
  }

  TEST_CASE("timeout over a plain awaitable (a sleep), and with a huge duration") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      CHECK_THROWS_AS(co_await timeout(1ms, sleep(1s)), timed_out);
      co_await timeout(std::chrono::hours::max(), sleep(1ms));
    }());
  }

  TEST_CASE("misuse: an empty task in a join helper") {
    auto rt = test::single();
    CHECK_THROWS_AS(rt.block_on([]() -> task<void> {
      std::vector<task<int>> ts(2);
      co_await join_all(std::move(ts));
    }()),
                    usage_error);
  }
}
