// corio::broadcast: every receiver gets every message, lag reporting, closing, subscribe
// positions, exactly-once destruction of stored messages, plain threads, misuse.

#include <doctest/doctest.h>
#include <corio/sync/broadcast.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::counted;
using test::settle;

namespace {

task<std::vector<int>> collect(broadcast::receiver<int> rx) {
  std::vector<int> got;
  while (std::optional<int> v = co_await rx.recv()) got.push_back(*v);
  co_return got;
}

}  // namespace

TEST_SUITE("broadcast") {
  TEST_CASE("every receiver gets every message; empty once every sender is gone") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx1] = broadcast::channel<int>(16);
      auto rx2 = tx.subscribe();
      CHECK(tx.receiver_count() == 2);
      auto a = spawn(collect(std::move(rx1)));
      auto b = spawn(collect(std::move(rx2)));
      co_await settle();  // both wait
      auto tx2 = tx;
      for (int i = 0; i < 10; ++i) CHECK((i % 2 ? tx : tx2).send(i) == 2);
      { auto drop = std::move(tx); }
      { auto drop = std::move(tx2); }
      std::vector<int> va = co_await a;
      std::vector<int> vb = co_await b;
      std::vector<int> want{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
      CHECK(va == want);
      CHECK(vb == want);
    }());
  }

  TEST_CASE("a new subscriber sees only later messages; resubscribe starts at the tail too") {
    auto [tx, rx] = broadcast::channel<int>(4);
    tx.send(1);
    auto late = tx.subscribe();
    tx.send(2);
    auto again = rx.resubscribe();
    CHECK(rx.size() == 2);
    CHECK(*rx.try_recv() == 1);
    CHECK(*rx.try_recv() == 2);
    CHECK(*late.try_recv() == 2);
    CHECK(late.try_recv().is_empty());
    CHECK(again.try_recv().is_empty());
  }

  TEST_CASE("a lagging receiver learns how many messages it missed, then continues") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = broadcast::channel<int>(3);
      for (int i = 0; i < 8; ++i) tx.send(i);  // 0..4 are overwritten
      std::uint64_t missed = 0;
      try {
        (void)co_await rx.recv();
      } catch (const broadcast::lagged& e) {
        missed = e.missed();
      }
      CHECK(missed == 5);
      std::optional<int> v = co_await rx.recv();
      CHECK(v == 5);
      CHECK_THROWS_AS([&] {
        for (int i = 8; i < 12; ++i) tx.send(i);
        (void)rx.try_recv();
      }(), broadcast::lagged);
      CHECK(*rx.try_recv() == 9);
    }());
  }

  TEST_CASE("send with no receiver hands the value back; capacity 0 is refused") {
    auto [tx, rx] = broadcast::channel<std::string>(2);
    { auto drop = std::move(rx); }
    bool caught = false;
    try {
      tx.send("x");
    } catch (const send_error<std::string>& e) {
      caught = e.value() == "x";
    }
    CHECK(caught);
    auto r = tx.try_send("y");
    CHECK(r.is_closed());
    CHECK(r.value() == "y");
    auto rx2 = tx.subscribe();
    CHECK(tx.try_send("z"));
    CHECK_THROWS_AS(broadcast::channel<int>(0), std::invalid_argument);
  }

  TEST_CASE("a cancelled receive takes nothing") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = broadcast::channel<int>(4);
      auto h = spawn([](broadcast::receiver<int>& rx) -> task<std::optional<int>> { co_return co_await rx.recv(); }(rx));
      co_await settle();
      tx.send(1);  // wakes h
      h.abort();   // cancelled before it reads
      CHECK_THROWS_AS(co_await h, cancelled);
      std::optional<int> v = co_await rx.recv();
      CHECK(v == 1);
    }());
  }

  TEST_CASE("more waiting receivers than one wake-up batch are all woken") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = broadcast::channel<int>(4);
      std::vector<join_handle<std::vector<int>>> hs;
      for (int i = 0; i < 40; ++i) hs.push_back(spawn(collect(tx.subscribe())));
      co_await settle();
      tx.send(7);
      { auto drop = std::move(tx); }
      for (auto& h : hs) {
        std::vector<int> got = co_await h;
        CHECK(got == std::vector<int>{7});
      }
    }());
  }

  TEST_CASE("stored messages are destroyed exactly once: read by all, overwritten, or dropped") {
    counted::reset();
    {
      auto [tx, rx1] = broadcast::channel<counted>(4);
      auto rx2 = tx.subscribe();
      for (int i = 0; i < 10; ++i) tx.send(counted(i));  // 6 overwritten
      CHECK(counted::alive() == 4);
      CHECK_THROWS_AS((void)rx1.try_recv(), broadcast::lagged);
      {
        auto r = rx1.try_recv();
        CHECK(r->value == 6);
      }
      CHECK(counted::alive() == 4);  // rx2 has not read 6 yet: kept
      CHECK_THROWS_AS((void)rx2.try_recv(), broadcast::lagged);
      { auto r = rx2.try_recv(); }   // the last reader of 6 takes the stored one
      CHECK(counted::alive() == 3);
      { auto drop = std::move(rx2); }  // 7..9 are still unread by rx1
      CHECK(counted::alive() == 3);
      { auto drop = std::move(rx1); }  // nobody needs them any more
      CHECK(counted::alive() == 0);
    }
    CHECK(counted::alive() == 0);
  }

  TEST_CASE("plain threads: blocking_recv, senders on other threads") {
    auto [tx, rx] = broadcast::channel<int>(1024);
    std::atomic<long> sum{0};
    auto rt = test::multi(2);
    std::thread t([rx = std::move(rx), &sum]() mutable {
      long s = 0;
      while (std::optional<int> v = rx.blocking_recv()) s += *v;
      sum = s;
    });
    rt.block_on([](broadcast::sender<int> tx) -> task<void> {
      for (int i = 0; i < 1000; ++i) tx.send(i);
      co_return;
    }(std::move(tx)));
    t.join();
    CHECK(sum.load() == 999L * 1000 / 2);
  }

  TEST_CASE("misuse: moved-from handles, blocking_recv on a worker thread") {
    auto [tx, rx] = broadcast::channel<int>(2);
    auto rx2 = std::move(rx);
    CHECK_THROWS_AS((void)rx.recv(), usage_error);
    auto tx2 = std::move(tx);
    CHECK_THROWS_AS((void)tx.send(1), usage_error);
    auto rt = test::single();
    rt.block_on([](broadcast::receiver<int>& rx) -> task<void> {
      CHECK_THROWS_AS((void)rx.blocking_recv(), usage_error);
      co_return;
    }(rx2));
  }
}
