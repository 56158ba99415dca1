// corio::mutex: guards, try_lock, FIFO hand-off, cancellation that never swallows a hand-off,
// blocking_lock from plain threads, the budget, and misuse.

#include <doctest/doctest.h>
#include <corio/sync/mutex.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

using test::settle;
using test::spawn_queued;

task<void> append_locked(mutex<std::vector<int>>& m, int v) {
  auto g = co_await m.lock();
  g->push_back(v);
}

}  // namespace

TEST_SUITE("mutex") {
  TEST_CASE("the guard gives access to the value and unlocks on destruction") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      mutex<std::string> m("a");
      {
        auto g = co_await m.lock();
        CHECK(m.is_locked());
        *g += "b";
        CHECK(g->size() == 2);
        CHECK(g.owns_lock());
      }
      CHECK_FALSE(m.is_locked());
      auto g = co_await m.lock();
      CHECK(*g == "ab");
      g.unlock();
      CHECK_FALSE(g.owns_lock());
      CHECK_FALSE(m.is_locked());
      g.unlock();  // a no-op
    }());
  }

  TEST_CASE("try_lock fails while locked and succeeds once free; guards move") {
    mutex<int> m(1);
    auto g = m.try_lock();
    REQUIRE(g.has_value());
    CHECK_FALSE(m.try_lock().has_value());
    mutex_guard<int> moved = std::move(*g);
    CHECK_FALSE(g->owns_lock());
    *moved = 5;
    CHECK(m.is_locked());
    { auto drop = std::move(moved); }
    auto again = m.try_lock();
    REQUIRE(again.has_value());
    CHECK(**again == 5);
  }

  TEST_CASE("waiters get the lock in FIFO order; try_lock does not overtake them") {
    mutex<std::vector<int>> m;
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto g = co_await m.lock();
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 5; ++i) {
        hs.push_back(spawn(append_locked(m, i)));
        co_await settle();
      }
      g.unlock();  // handed to waiter 0: the mutex stays locked
      CHECK(m.is_locked());
      CHECK_FALSE(m.try_lock().has_value());
      for (auto& h : hs) co_await h;
    }());
    CHECK(m.get_unsynchronized() == std::vector<int>{0, 1, 2, 3, 4});
  }

  TEST_CASE("a cancelled waiter leaves the queue cleanly") {
    mutex<std::vector<int>> m;
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto g = co_await m.lock();
      auto a = co_await spawn_queued(append_locked(m, 1));
      auto b = co_await spawn_queued(append_locked(m, 2));
      auto c = co_await spawn_queued(append_locked(m, 3));
      b.abort();
      CHECK_THROWS_AS(co_await b, cancelled);
      g.unlock();
      co_await a;
      co_await c;
      a.abort();  // finished: a no-op
    }());
    CHECK(m.get_unsynchronized() == std::vector<int>{1, 3});
    CHECK_FALSE(m.is_locked());
  }

  TEST_CASE("a waiter cancelled after the lock was handed to it passes the lock on") {
    mutex<std::vector<int>> m;
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto g = co_await m.lock();
      auto a = co_await spawn_queued(append_locked(m, 1));
      auto b = co_await spawn_queued(append_locked(m, 2));
      g.unlock();  // hand-off to a (queued to run)...
      a.abort();   // ...which is cancelled before it runs
      CHECK_THROWS_AS(co_await a, cancelled);
      co_await b;  // so b got the lock
      auto g2 = co_await m.lock();
      CHECK(*g2 == std::vector<int>{2});
    }());
  }

  TEST_CASE("the last waiter cancelled: the next unlock frees the mutex") {
    mutex<int> m;
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto g = co_await m.lock();
      auto a = co_await spawn_queued([](mutex<int>& m) -> task<void> { auto g = co_await m.lock(); }(m));
      a.abort();
      CHECK_THROWS_AS(co_await a, cancelled);
      g.unlock();
      CHECK_FALSE(m.is_locked());
      CHECK(m.try_lock().has_value());
    }());
  }

  TEST_CASE("a task that always finds the mutex free still yields (budget), holding nothing it should not") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      mutex<int> m;
      bool other_ran = false;
      auto other = spawn(test::flag_task(other_ran));
      int seen_at = -1;
      for (int i = 0; i < 1000; ++i) {
        auto g = co_await m.lock();
        ++*g;
        if (other_ran && seen_at < 0) seen_at = i;
      }
      CHECK(seen_at > 0);
      co_await other;
      CHECK(m.get_unsynchronized() == 1000);
    }());
  }

  TEST_CASE("a task aborted while it yields holding a freshly taken lock releases it") {
    mutex<int> m;
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto h = spawn([](mutex<int>& m) -> task<void> {
        for (;;) auto g = co_await m.lock();  // yields every 128 acquisitions
      }(m));
      co_await yield_now();  // h runs until its budget is spent, then yields (maybe holding the lock)
      h.abort();
      CHECK_THROWS_AS(co_await h, cancelled);
      CHECK_FALSE(m.is_locked());
    }());
  }

  TEST_CASE("blocking_lock: plain threads and tasks share one mutex") {
    mutex<long> m;
    auto rt = test::multi(2);
    const int per = 20'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&m] {
        for (int i = 0; i < per; ++i) ++*m.blocking_lock();
      });
    rt.block_on([](mutex<long>& m) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int t = 0; t < 4; ++t)
        hs.push_back(spawn([](mutex<long>& m) -> task<void> {
          for (int i = 0; i < per; ++i) ++*co_await m.lock();
        }(m)));
      for (auto& h : hs) co_await h;
    }(m));
    for (auto& t : threads) t.join();
    CHECK(m.get_unsynchronized() == 6L * per);
  }

  TEST_CASE("a thread blocked in blocking_lock gets the lock from a task") {
    mutex<int> m;
    std::atomic<bool> locked{false};
    std::atomic<int> seen{0};
    auto rt = test::multi(2);
    std::thread t;
    rt.block_on([&]() -> task<void> {
      auto g = co_await m.lock();
      t = std::thread([&] {
        locked = true;
        seen = *m.blocking_lock();
      });
      while (!locked.load()) co_await yield_now();
      *g = 7;
    }());
    t.join();
    CHECK(seen.load() == 7);
  }

  TEST_CASE("misuse: blocking_lock on a worker thread; a contended lock outside any runtime") {
    mutex<int> m;
    auto rt = test::single();
    rt.block_on([](mutex<int>& m) -> task<void> {
      CHECK_THROWS_AS((void)m.blocking_lock(), usage_error);
      co_return;
    }(m));
    auto g = m.try_lock();
    auto op = m.lock();
    CHECK_FALSE(op.await_ready());
    CHECK_THROWS_AS(op.await_suspend(std::noop_coroutine()), usage_error);
    g.reset();
    CHECK_FALSE(m.is_locked());  // the refused wait left nothing behind
  }
}
