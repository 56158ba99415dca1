// corio::oneshot: send/receive, a sender dropped unsent, a receiver dropped or closed, closed(),
// cancelled receives, exactly-once destruction, plain threads, and misuse.

#include <doctest/doctest.h>
#include <corio/sync/oneshot.hpp>

#include <memory>
#include <string>
#include <thread>

#include "support/counted.hpp"
#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::counted;
using test::settle;

namespace {

task<std::string> receive(oneshot::receiver<std::string> rx) { co_return co_await rx; }

}  // namespace

TEST_SUITE("oneshot") {
  TEST_CASE("a value sent before or after the receive started arrives") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = oneshot::channel<std::string>();
      tx.send("early");
      CHECK_FALSE(tx.valid());
      std::string a = co_await rx;
      CHECK(a == "early");

      auto [tx2, rx2] = oneshot::channel<std::string>();
      auto h = spawn(receive(std::move(rx2)));
      co_await settle();
      CHECK_FALSE(h.is_finished());
      tx2.send("late");
      std::string b = co_await h;
      CHECK(b == "late");
    }());
  }

  TEST_CASE("the sender dropped unsent: the receive throws channel_closed") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = oneshot::channel<int>();
      auto h = spawn([](oneshot::receiver<int> rx) -> task<int> { co_return co_await rx; }(std::move(rx)));
      co_await settle();
      { auto drop = std::move(tx); }
      CHECK_THROWS_AS(co_await h, channel_closed);
    }());
    auto [tx, rx] = oneshot::channel<int>();
    { auto drop = std::move(tx); }
    CHECK(rx.try_recv().is_closed());
  }

  TEST_CASE("a send after the receiver is gone or closed hands the value back") {
    auto [tx, rx] = oneshot::channel<std::unique_ptr<int>>();
    CHECK_FALSE(tx.is_closed());
    { auto drop = std::move(rx); }
    CHECK(tx.is_closed());
    bool caught = false;
    try {
      tx.send(std::make_unique<int>(3));
    } catch (const send_error<std::unique_ptr<int>>& e) {
      caught = *e.value() == 3;
    }
    CHECK(caught);
    auto [tx2, rx2] = oneshot::channel<int>();
    rx2.close();
    auto r = tx2.try_send(4);
    CHECK(r.is_closed());
    CHECK(r.value() == 4);
  }

  TEST_CASE("close() refuses later sends but a value already sent can still be received") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = oneshot::channel<int>();
      tx.send(5);
      rx.close();
      int v = co_await rx;
      CHECK(v == 5);
    }());
  }

  TEST_CASE("a receive on a closed oneshot with no value fails at once, the sender still alive or used up") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      // close() with the sender still alive: no wait for the sender.
      auto [tx, rx] = oneshot::channel<int>();
      rx.close();
      CHECK(rx.try_recv().is_closed());
      auto h = spawn([](oneshot::receiver<int>& rx) -> task<int> { co_return co_await rx; }(rx));
      co_await settle();
      CHECK(h.is_finished());
      CHECK_THROWS_AS(co_await h, channel_closed);
      CHECK(tx.valid());

      // A receive already waiting when close() is called ends too.
      auto [tx2, rx2] = oneshot::channel<int>();
      auto h2 = spawn([](oneshot::receiver<int>& rx) -> task<int> { co_return co_await rx; }(rx2));
      co_await settle();
      CHECK_FALSE(h2.is_finished());
      rx2.close();
      co_await settle();
      CHECK(h2.is_finished());
      CHECK_THROWS_AS(co_await h2, channel_closed);

      // A try_send refused after close(): the sender is used up, the receive fails at once.
      auto [tx3, rx3] = oneshot::channel<int>();
      rx3.close();
      CHECK(tx3.try_send(9).is_closed());
      CHECK_FALSE(tx3.valid());
      auto h3 = spawn([](oneshot::receiver<int>& rx) -> task<int> { co_return co_await rx; }(rx3));
      co_await settle();
      CHECK(h3.is_finished());
      CHECK_THROWS_AS(co_await h3, channel_closed);
      CHECK(rx3.try_recv().is_closed());
    }());
    // A plain thread's blocking_recv on a closed oneshot returns at once with the error.
    auto [tx, rx] = oneshot::channel<int>();
    rx.close();
    CHECK_THROWS_AS(rx.blocking_recv(), channel_closed);
  }

  TEST_CASE("closed() completes when the receiver goes away") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = oneshot::channel<int>();
      auto h = spawn([](oneshot::sender<int> tx) -> task<bool> {
        co_await tx.closed();
        co_return tx.is_closed();
      }(std::move(tx)));
      co_await settle();
      CHECK_FALSE(h.is_finished());
      { auto drop = std::move(rx); }
      bool closed = co_await h;
      CHECK(closed);
    }());
  }

  TEST_CASE("a receive cancelled after the value arrived leaves it for the next receive") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = oneshot::channel<int>();
      auto h = spawn([](oneshot::receiver<int>& rx) -> task<int> { co_return co_await rx; }(rx));
      co_await settle();
      tx.send(8);  // wakes h...
      h.abort();   // ...which is cancelled before it runs
      CHECK_THROWS_AS(co_await h, cancelled);
      int v = co_await rx;
      CHECK(v == 8);
    }());
  }

  TEST_CASE("a value never received is destroyed exactly once with the receiver") {
    counted::reset();
    {
      auto [tx, rx] = oneshot::channel<counted>();
      tx.send(counted(1));
      CHECK(counted::alive() == 1);
      { auto drop = std::move(rx); }
      CHECK(counted::alive() == 0);
    }
    counted::reset();
    {
      auto [tx, rx] = oneshot::channel<counted>();
      { auto drop = std::move(rx); }
      auto r = tx.try_send(counted(2));
      CHECK(r.is_closed());
    }
    CHECK(counted::alive() == 0);
  }

  TEST_CASE("plain threads on either side") {
    auto rt = test::multi(2);
    auto ch = oneshot::channel<int>();
    std::thread t([tx = std::move(ch.first)]() mutable { tx.send(11); });
    int v = rt.block_on([](oneshot::receiver<int> rx) -> task<int> { co_return co_await rx; }(std::move(ch.second)));
    t.join();
    CHECK(v == 11);
    auto ch2 = oneshot::channel<int>();
    int got = 0;
    std::thread r([rx = std::move(ch2.second), &got]() mutable { got = rx.blocking_recv(); });
    rt.block_on([](oneshot::sender<int> tx) -> task<void> {
      tx.send(12);
      co_return;
    }(std::move(ch2.first)));
    r.join();
    CHECK(got == 12);
    auto ch3 = oneshot::channel<int>();
    std::thread dropper([tx = std::move(ch3.first)]() mutable { auto drop = std::move(tx); });
    CHECK_THROWS_AS((void)ch3.second.blocking_recv(), channel_closed);
    dropper.join();
  }

  TEST_CASE("misuse: sending twice, receiving twice, two receives at once, blocking on a worker") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = oneshot::channel<int>();
      tx.send(1);
      CHECK_THROWS_AS(tx.send(2), usage_error);
      CHECK_THROWS_AS((void)tx.closed(), usage_error);
      int v = co_await rx;
      CHECK(v == 1);
      CHECK_THROWS_AS(co_await rx, usage_error);  // already received
      CHECK_THROWS_AS((void)rx.blocking_recv(), usage_error);  // on a worker thread

      auto [tx2, rx2] = oneshot::channel<int>();
      auto h = spawn([](oneshot::receiver<int>& rx) -> task<int> { co_return co_await rx; }(rx2));
      co_await settle();
      CHECK_THROWS_AS(co_await rx2, usage_error);  // h is already waiting
      tx2.send(3);
      int w = co_await h;
      CHECK(w == 3);
      auto moved = std::move(rx2);
      CHECK_THROWS_AS((void)rx2.try_recv(), usage_error);
    }());
  }
}
