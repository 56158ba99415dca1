// corio::wait_group: add/done/wait, rounds (reuse), cancellation, plain threads, misuse.

#include <doctest/doctest.h>
#include <corio/sync/wait_group.hpp>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::settle;

namespace {

task<void> job(wait_group& wg, std::atomic<int>& finished) {
  co_await yield_now();
  ++finished;
  wg.done();
}

}  // namespace

TEST_SUITE("wait_group") {
  TEST_CASE("wait completes when every job is done; at once when there are none") {
    wait_group wg;
    std::atomic<int> finished{0};
    auto rt = test::multi(2);
    rt.block_on([](wait_group& wg, std::atomic<int>& finished) -> task<void> {
      co_await wg.wait();  // nothing outstanding
      for (int i = 0; i < 100; ++i) {
        wg.add();
        spawn(job(wg, finished)).detach();
      }
      co_await wg.wait();
      CHECK(finished.load() == 100);
      CHECK(wg.count() == 0);
    }(wg, finished));
  }

  TEST_CASE("rounds: a waiter of one round is not confused by the next") {
    wait_group wg;
    auto rt = test::single();
    rt.block_on([](wait_group& wg) -> task<void> {
      wg.add(1);
      auto a = spawn([](wait_group& wg) -> task<void> { co_await wg.wait(); }(wg));
      co_await settle();
      wg.done();     // round 1 ends: a is released
      wg.add(1);     // round 2 starts before a runs
      auto b = spawn([](wait_group& wg) -> task<void> { co_await wg.wait(); }(wg));
      co_await a;
      co_await settle();
      CHECK_FALSE(b.is_finished());
      wg.done();
      co_await b;
    }(wg));
  }

  TEST_CASE("a cancelled wait leaves cleanly") {
    wait_group wg;
    auto rt = test::single();
    rt.block_on([](wait_group& wg) -> task<void> {
      wg.add(2);
      auto a = spawn([](wait_group& wg) -> task<void> { co_await wg.wait(); }(wg));
      co_await settle();
      a.abort();
      CHECK_THROWS_AS(co_await a, cancelled);
      wg.done();
      wg.done();
      co_await wg.wait();
    }(wg));
  }

  TEST_CASE("plain threads: add/done from threads, blocking_wait") {
    wait_group wg;
    wg.add(8);
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i) ts.emplace_back([&] { wg.done(); });
    wg.blocking_wait();
    for (auto& t : ts) t.join();
    CHECK(wg.count() == 0);
  }

  TEST_CASE("misuse: done without add, overflowing add, blocking_wait on a worker thread") {
    wait_group wg;
    CHECK_THROWS_AS(wg.done(), std::invalid_argument);
    wg.add(std::numeric_limits<std::size_t>::max());
    CHECK_THROWS_AS(wg.add(), std::overflow_error);
    wait_group wg2;
    auto rt = test::single();
    wg2.add();
    rt.block_on([](wait_group& wg) -> task<void> {
      CHECK_THROWS_AS(wg.blocking_wait(), usage_error);
      co_return;
    }(wg2));
  }
}
