// corio::watch: latest value, changed() and seen versions, borrow/borrow_and_update, modify,
// closing in both directions, many waiters, plain threads, misuse.

#include <doctest/doctest.h>
#include <corio/sync/watch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::settle;

TEST_SUITE("watch") {
  TEST_CASE("changed() waits for a newer value; only the latest is kept") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = watch::channel<int>(0);
      CHECK(*rx.borrow() == 0);
      CHECK_FALSE(rx.has_changed());
      auto h = spawn([](watch::receiver<int> rx) -> task<int> {
        co_await rx.changed();
        co_return *rx.borrow();
      }(rx));
      co_await settle();
      CHECK_FALSE(h.is_finished());
      tx.send(1);
      tx.send(2);
      int seen = co_await h;
      CHECK(seen == 2);
      CHECK(rx.has_changed());
      {
        auto r = rx.borrow_and_update();
        CHECK(r.has_changed());
        CHECK(*r == 2);
      }
      CHECK_FALSE(rx.has_changed());
      auto r2 = rx.borrow_and_update();
      CHECK_FALSE(r2.has_changed());
    }());
  }

  TEST_CASE("send_replace, send_modify, send_if_modified; subscribe has seen the current value") {
    auto [tx, rx] = watch::channel<std::string>("a");
    CHECK(tx.send_replace("b") == "a");
    CHECK(rx.has_changed());
    rx.mark_seen();
    tx.send_modify([](std::string& s) { s += "c"; });
    CHECK(rx.has_changed());
    CHECK(*rx.borrow_and_update() == "bc");
    CHECK_FALSE(tx.send_if_modified([](std::string&) { return false; }));
    CHECK_FALSE(rx.has_changed());
    auto rx2 = tx.subscribe();
    CHECK_FALSE(rx2.has_changed());
    CHECK(tx.receiver_count() == 2);
    auto rx3 = rx2;  // a copy has seen what the original has
    CHECK(tx.receiver_count() == 3);
    CHECK(*tx.borrow() == "bc");
  }

  TEST_CASE("the sender dropped: changed() throws once nothing newer is left") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = watch::channel<int>(0);
      auto h = spawn([](watch::receiver<int> rx) -> task<void> { co_await rx.changed(); }(rx));
      co_await settle();
      tx.send(1);
      { auto drop = std::move(tx); }
      co_await h;  // it had been woken by the change
      co_await rx.changed();  // the unseen 1 is still reported
      CHECK(rx.is_closed());
      CHECK_THROWS_AS(co_await rx.changed(), channel_closed);
      CHECK(*rx.borrow() == 1);
    }());
  }

  TEST_CASE("a waiting changed() is woken with channel_closed when the sender goes") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = watch::channel<int>(0);
      auto h = spawn([](watch::receiver<int> rx) -> task<void> { co_await rx.changed(); }(rx));
      co_await settle();
      { auto drop = std::move(tx); }
      CHECK_THROWS_AS(co_await h, channel_closed);
    }());
  }

  TEST_CASE("send with no receiver hands the value back; send_replace stores anyway") {
    auto [tx, rx] = watch::channel<int>(0);
    { auto drop = std::move(rx); }
    CHECK(tx.is_closed());
    bool caught = false;
    try {
      tx.send(5);
    } catch (const send_error<int>& e) {
      caught = e.value() == 5;
    }
    CHECK(caught);
    tx.send_replace(6);
    CHECK(*tx.borrow() == 6);
  }

  TEST_CASE("many waiters are all woken by one change; a cancelled one leaves cleanly") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = watch::channel<int>(0);
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 40; ++i)
        hs.push_back(spawn([](watch::receiver<int> rx) -> task<void> { co_await rx.changed(); }(rx)));
      co_await settle();
      hs[3].abort();
      CHECK_THROWS_AS(co_await hs[3], cancelled);
      tx.send(1);
      for (int i = 0; i < 40; ++i)
        if (i != 3) co_await hs[i];
    }());
  }

  TEST_CASE("plain threads: a thread sends, a task watches; blocking_changed") {
    auto [tx, rx] = watch::channel<int>(0);
    auto rt = test::multi(2);
    auto rx_thread = rx;
    std::atomic<bool> saw_last{false};
    std::thread watcher([rx = std::move(rx_thread), &saw_last]() mutable {
      try {
        for (;;) {
          rx.blocking_changed();
          if (*rx.borrow() == 100) saw_last = true;
        }
      } catch (const channel_closed&) {
      }
    });
    std::thread sender([tx = std::move(tx)]() mutable {
      for (int i = 1; i <= 100; ++i) tx.send(i);
    });
    int last = rt.block_on([](watch::receiver<int> rx) -> task<int> {
      int v = 0;
      try {
        for (;;) {
          co_await rx.changed();
          v = *rx.borrow();
        }
      } catch (const channel_closed&) {
      }
      co_return v;
    }(std::move(rx)));
    sender.join();
    watcher.join();
    CHECK(last == 100);
    CHECK(saw_last.load());
  }

  TEST_CASE("misuse: moved-from handles, blocking_changed on a worker thread") {
    auto [tx, rx] = watch::channel<int>(0);
    auto rx2 = std::move(rx);
    CHECK_THROWS_AS((void)rx.changed(), usage_error);
    auto tx2 = std::move(tx);
    CHECK_THROWS_AS(tx.send(1), usage_error);
    auto rt = test::single();
    rt.block_on([](watch::receiver<int>& rx) -> task<void> {
      CHECK_THROWS_AS(rx.blocking_changed(), usage_error);
      co_return;
    }(rx2));
  }
}
