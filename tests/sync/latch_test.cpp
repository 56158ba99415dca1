// corio::latch: count_down from tasks and threads, wait/try_wait/arrive_and_wait,
// cancellation, blocking_wait, and misuse.

#include <doctest/doctest.h>
#include <corio/sync/latch.hpp>
#include <corio/sync/wait_group.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::settle;

TEST_SUITE("latch") {
  TEST_CASE("waiters are released when the count reaches zero, and later waits complete at once") {
    latch l(3);
    auto rt = test::single();
    rt.block_on([](latch& l) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 40; ++i) hs.push_back(spawn([](latch& l) -> task<void> { co_await l.wait(); }(l)));
      co_await settle();
      l.count_down();
      l.count_down();
      co_await settle();
      for (auto& h : hs) CHECK_FALSE(h.is_finished());
      CHECK_FALSE(l.try_wait());
      CHECK(l.count() == 1);
      l.count_down();
      CHECK(l.try_wait());
      for (auto& h : hs) co_await h;
      co_await l.wait();
    }(l));
  }

  TEST_CASE("arrive_and_wait, and count_down(n)") {
    latch l(4);
    auto rt = test::single();
    rt.block_on([](latch& l) -> task<void> {
      auto a = spawn([](latch& l) -> task<void> { co_await l.arrive_and_wait(); }(l));
      co_await settle();
      CHECK_FALSE(a.is_finished());
      l.count_down(2);
      co_await l.arrive_and_wait();
      co_await a;
    }(l));
  }

  TEST_CASE("the wait awaitables have public names, and can be moved before they are awaited") {
    latch l(1);
    wait_group wg;
    wg.add();
    auto rt = test::single();
    rt.block_on([](latch& l, wait_group& wg) -> task<void> {
      latch::wait_awaitable a = l.wait();
      wait_group::wait_awaitable b = wg.wait();
      auto h = spawn([](latch::wait_awaitable a, wait_group::wait_awaitable b) -> task<void> {
        co_await std::move(a);
        co_await std::move(b);
      }(std::move(a), std::move(b)));
      co_await settle();
      CHECK_FALSE(h.is_finished());
      l.count_down();
      co_await settle();
      CHECK_FALSE(h.is_finished());
      wg.done();
      co_await h;
    }(l, wg));
  }

  TEST_CASE("a cancelled wait leaves cleanly") {
    latch l(1);
    auto rt = test::single();
    rt.block_on([](latch& l) -> task<void> {
      auto a = spawn([](latch& l) -> task<void> { co_await l.wait(); }(l));
      auto b = spawn([](latch& l) -> task<void> { co_await l.wait(); }(l));
      co_await settle();
      a.abort();
      CHECK_THROWS_AS(co_await a, cancelled);
      l.count_down();
      co_await b;
    }(l));
  }

  TEST_CASE("plain threads count down and wait") {
    latch l(5);
    std::atomic<bool> done{false};
    auto rt = test::multi(2);
    std::thread waiter([&] {
      l.blocking_wait();
      done = true;
    });
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) ts.emplace_back([&] { l.count_down(); });
    rt.block_on([](latch& l) -> task<void> { co_await l.arrive_and_wait(); }(l));
    for (auto& t : ts) t.join();
    waiter.join();
    CHECK(done.load());
  }

  TEST_CASE("misuse: counting down past zero, blocking_wait on a worker thread") {
    latch l(1);
    CHECK_THROWS_AS(l.count_down(2), std::invalid_argument);
    CHECK(l.count() == 1);  // unchanged
    auto rt = test::single();
    rt.block_on([](latch& l) -> task<void> {
      CHECK_THROWS_AS(l.blocking_wait(), usage_error);
      co_return;
    }(l));
  }
}
