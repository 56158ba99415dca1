// corio::notify: permits, FIFO wake-ups, notify_all, cancellation hand-off, foreign threads.

#include <doctest/doctest.h>
#include <corio/sync/notify.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "support/runtimes.hpp"

using namespace corio;

TEST_SUITE("notify") {
  TEST_CASE("notify_one before anyone waits stores one permit, consumed without waiting") {
    notify n;
    auto rt = test::single();
    n.notify_one();
    n.notify_one();  // still one permit
    rt.block_on([&]() -> task<void> {
      co_await n.notified();
      auto h = spawn([](notify& n) -> task<void> { co_await n.notified(); }(n));
      co_await yield_now();
      CHECK_FALSE(h.is_finished());  // the second notify_one did not store a second permit
      n.notify_one();
      co_await h;
    }());
  }

  TEST_CASE("waiters are woken in FIFO order, one per notify_one") {
    notify n;
    auto rt = test::single();
    std::vector<int> order;
    rt.block_on([&]() -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 5; ++i) {
        hs.push_back(spawn([](notify& n, std::vector<int>& o, int i) -> task<void> {
          co_await n.notified();
          o.push_back(i);
        }(n, order, i)));
        co_await yield_now();  // i is queued before i+1
      }
      for (int i = 0; i < 5; ++i) {
        n.notify_one();
        co_await yield_now();
        co_await yield_now();
      }
      for (auto& h : hs) co_await h;
    }());
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  }

  TEST_CASE("notify_all wakes every waiter and stores no permit") {
    notify n;
    std::atomic<int> woke{0}, waiting{0};
    auto rt = test::multi();
    rt.block_on([&]() -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 100; ++i)
        hs.push_back(spawn([](notify& n, std::atomic<int>& w, std::atomic<int>& in) -> task<void> {
          auto wait = n.notified();
          ++in;
          co_await std::move(wait);
          ++w;
        }(n, woke, waiting)));
      while (waiting.load() < 100) co_await yield_now();
      n.notify_all();
      for (auto& h : hs) co_await h;
      auto late = spawn([](notify& n) -> task<void> { co_await n.notified(); }(n));
      co_await yield_now();
      CHECK_FALSE(late.is_finished());
      late.abort();
      CHECK_THROWS_AS(co_await late, cancelled);  // gone before `n` is
    }());
    CHECK(woke.load() == 100);
  }

  TEST_CASE("a notified() created before notify_all completes when awaited after it") {
    notify n;
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto w = n.notified();
      n.notify_all();
      co_await std::move(w);
    }());
  }

  TEST_CASE("a notify_one whose waiter is aborted before resuming passes to the next waiter") {
    notify n;
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto first = spawn([](notify& n) -> task<void> { co_await n.notified(); }(n));
      co_await yield_now();
      auto second = spawn([](notify& n) -> task<void> { co_await n.notified(); }(n));
      co_await yield_now();
      n.notify_one();  // hands the notification to `first`...
      first.abort();   // ...which is cancelled before it can run
      CHECK_THROWS_AS(co_await first, cancelled);
      co_await second;  // so `second` got it
    }());
  }

  TEST_CASE("a plain thread can notify a waiting task") {
    notify n;
    std::atomic<bool> waiting{false};
    auto rt = test::multi();
    std::thread t([&] {
      while (!waiting.load()) std::this_thread::yield();
      n.notify_one();
    });
    rt.block_on([&]() -> task<void> {
      waiting = true;
      co_await n.notified();
    }());
    t.join();
  }
}
