// corio::semaphore: permits, acquire_many, FIFO (a big request at the head blocks smaller ones),
// partial collection returned on cancellation, close, forget/merge, blocking, and misuse.

#include <doctest/doctest.h>
#include <corio/sync/semaphore.hpp>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::settle;

namespace {

task<void> take(semaphore& s, std::size_t n, std::vector<int>& log, int id) {
  auto p = co_await s.acquire_many(n);
  CHECK(p.count() == n);
  log.push_back(id);
}

}  // namespace

TEST_SUITE("semaphore") {
  TEST_CASE("permits are returned when the permit object goes away") {
    semaphore s(3);
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto a = co_await s.acquire();
      auto b = co_await s.acquire_many(2);
      CHECK(s.available_permits() == 0);
      CHECK_FALSE(s.try_acquire().has_value());
      b.release();
      CHECK(s.available_permits() == 2);
      auto z = co_await s.acquire_many(0);
      CHECK(z.count() == 0);
    }());
    CHECK(s.available_permits() == 3);
  }

  TEST_CASE("FIFO: a large request at the head is not overtaken by smaller ones") {
    semaphore s(2);
    auto rt = test::single();
    std::vector<int> log;
    rt.block_on([&]() -> task<void> {
      auto held = co_await s.acquire_many(2);
      auto big = spawn(take(s, 2, log, 1));
      co_await settle();
      auto small = spawn(take(s, 1, log, 2));
      co_await settle();
      held.release();  // 2 free: all to the big one, in order
      co_await big;
      co_await small;
    }());
    CHECK(log == std::vector<int>{1, 2});
  }

  TEST_CASE("the head collects permits as they come back; if cancelled it returns them") {
    semaphore s(3);
    auto rt = test::single();
    std::vector<int> log;
    rt.block_on([&]() -> task<void> {
      auto a = co_await s.acquire();
      auto b = co_await s.acquire();
      auto c = co_await s.acquire();
      auto big = spawn(take(s, 3, log, 1));
      co_await settle();
      auto small = spawn(take(s, 1, log, 2));
      co_await settle();
      a.release();
      b.release();  // the big request holds 2 of its 3 now
      CHECK(s.available_permits() == 0);
      big.abort();
      CHECK_THROWS_AS(co_await big, cancelled);
      co_await small;  // got one of the two returned
      CHECK(s.available_permits() == 2);
    }());
    CHECK(log == std::vector<int>{2});
    CHECK(s.available_permits() == 3);
  }

  TEST_CASE("a waiter cancelled after its permits were granted gives them back") {
    semaphore s(1);
    auto rt = test::single();
    std::vector<int> log;
    rt.block_on([&]() -> task<void> {
      auto p = co_await s.acquire();
      auto w = spawn(take(s, 1, log, 1));
      co_await settle();
      auto w2 = spawn(take(s, 1, log, 2));
      co_await settle();
      p.release();  // granted to w...
      w.abort();    // ...cancelled before it runs: passes to w2
      CHECK_THROWS_AS(co_await w, cancelled);
      co_await w2;
    }());
    CHECK(log == std::vector<int>{2});
    CHECK(s.available_permits() == 1);
  }

  TEST_CASE("close wakes waiters with semaphore_closed; held permits still come back") {
    semaphore s(1);
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto p = co_await s.acquire();
      auto w = spawn([](semaphore& s) -> task<void> { auto q = co_await s.acquire(); }(s));
      co_await settle();
      s.close();
      CHECK(s.is_closed());
      CHECK_THROWS_AS(co_await w, semaphore_closed);
      CHECK_THROWS_AS((void)co_await s.acquire(), semaphore_closed);
      CHECK_THROWS_AS((void)s.try_acquire(), semaphore_closed);
      p.release();
      CHECK(s.available_permits() == 1);
    }());
    CHECK_THROWS_AS((void)s.blocking_acquire(), semaphore_closed);
  }

  TEST_CASE("forget keeps permits out; merge combines; add_permits wakes waiters") {
    semaphore s(3);
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto a = co_await s.acquire();
      a.forget();
      CHECK(a.count() == 0);
      auto b = co_await s.acquire();
      auto c = co_await s.acquire();
      b.merge(std::move(c));
      CHECK(b.count() == 2);
      CHECK(c.count() == 0);
      auto w = spawn([](semaphore& s) -> task<std::size_t> { co_return (co_await s.acquire_many(2)).count(); }(s));
      co_await settle();
      s.add_permits(2);
      std::size_t got = co_await w;
      CHECK(got == 2);
    }());
    CHECK(s.available_permits() == 4);  // 3 - 1 forgotten + 2 added
    semaphore other(1);
    auto x = s.try_acquire();
    auto y = other.try_acquire();
    CHECK_THROWS_AS(x->merge(std::move(*y)), usage_error);
  }

  TEST_CASE("blocking_acquire from plain threads, released by tasks") {
    semaphore s(0);
    std::atomic<int> got{0};
    auto rt = test::multi(2);
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
      ts.emplace_back([&] {
        auto p = s.blocking_acquire();
        p.forget();
        ++got;
      });
    rt.block_on([](semaphore& s) -> task<void> {
      s.add_permits(4);
      co_return;
    }(s));
    for (auto& t : ts) t.join();
    CHECK(got.load() == 4);
  }

  TEST_CASE("misuse: overflowing add_permits, blocking_acquire on a worker thread") {
    semaphore s(std::numeric_limits<std::size_t>::max() - 1);
    CHECK_THROWS_AS(s.add_permits(2), std::overflow_error);
    auto rt = test::single();
    rt.block_on([](semaphore& s) -> task<void> {
      CHECK_THROWS_AS((void)s.blocking_acquire(), usage_error);
      co_return;
    }(s));
  }
}
