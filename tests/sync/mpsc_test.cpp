// corio::mpsc: ordering, back-pressure, closing, reserve/permits, cancellation hand-offs,
// exactly-once destruction of messages, plain threads on either side, and every error path.

#include <doctest/doctest.h>
#include <corio/sync/mpsc.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::counted;

namespace {

using test::settle;

// A parameter lives as long as the frame (until the join handle is consumed): move the sender
// into a local so the channel sees it go when the body ends.
task<void> send_all(mpsc::sender<int> tx_param, int from, int to) {
  auto tx = std::move(tx_param);
  for (int i = from; i < to; ++i) co_await tx.send(i);
}

task<std::vector<int>> recv_all(mpsc::receiver<int>& rx) {
  std::vector<int> got;
  while (std::optional<int> v = co_await rx.recv()) got.push_back(*v);
  co_return got;
}

}  // namespace

TEST_SUITE("mpsc") {
  TEST_CASE("messages arrive in order; recv is empty only once every sender is gone and the queue drained") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(4);
      auto tx2 = tx;
      co_await tx.send(1);
      co_await tx2.send(2);
      { auto drop = std::move(tx); }
      co_await tx2.send(3);
      CHECK(rx.size() == 3);
      std::optional<int> a = co_await rx.recv();
      CHECK(a == 1);
      { auto drop = std::move(tx2); }  // every sender gone: 2 and 3 still come out
      std::optional<int> b = co_await rx.recv();
      std::optional<int> c = co_await rx.recv();
      std::optional<int> d = co_await rx.recv();
      CHECK(b == 2);
      CHECK(c == 3);
      CHECK_FALSE(d.has_value());
      CHECK(rx.try_recv().is_closed());
    }());
  }

  TEST_CASE("try_recv distinguishes a value, an empty channel and a finished one") {
    auto [tx, rx] = mpsc::unbounded<int>();
    auto r0 = rx.try_recv();
    CHECK(r0.is_empty());
    CHECK_FALSE(r0);
    CHECK_THROWS_AS(r0.value(), usage_error);
    tx.send(7);
    auto r1 = rx.try_recv();
    REQUIRE(r1);
    CHECK(*r1 == 7);
    CHECK(r1.status() == recv_status::received);
    { auto drop = std::move(tx); }
    auto r2 = rx.try_recv();
    CHECK(r2.is_closed());
    CHECK_THROWS_AS(r2.value(), channel_closed);
  }

  TEST_CASE("receiver::is_closed turns true once every sender (and permit) is gone, or on close()") {
    {
      auto [tx, rx] = mpsc::bounded<int>(2);
      auto tx2 = tx;
      CHECK_FALSE(rx.is_closed());
      { auto drop = std::move(tx); }
      CHECK_FALSE(rx.is_closed());  // tx2 can still send
      std::optional<mpsc::permit<int>> p = tx2.try_reserve();
      REQUIRE(p.has_value());
      { auto drop = std::move(tx2); }
      CHECK_FALSE(rx.is_closed());  // the permit can still send
      p.reset();
      CHECK(rx.is_closed());
      CHECK(rx.try_recv().is_closed());
    }
    {
      auto [tx, rx] = mpsc::unbounded<int>();
      tx.send(1);
      { auto drop = std::move(tx); }
      CHECK(rx.is_closed());  // closed although a message is still queued
      CHECK(rx.try_recv().value() == 1);
      CHECK(rx.is_closed());
    }
    {
      auto [tx, rx] = mpsc::unbounded<int>();
      rx.close();
      CHECK(rx.is_closed());
      CHECK(tx.is_closed());
    }
  }

  TEST_CASE("send waits for room (back-pressure) and completes when a message is taken") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(2);
      CHECK(tx.max_capacity() == 2);
      auto h = spawn(send_all(tx, 0, 3));
      co_await settle();
      CHECK_FALSE(h.is_finished());  // 0 and 1 are in, 2 waits for room
      CHECK(rx.size() == 2);
      CHECK(tx.capacity() == 0);
      std::optional<int> v = co_await rx.recv();
      CHECK(v == 0);
      CHECK(rx.size() == 2);  // the waiting sender's message moved in as the slot freed
      co_await h;
      std::optional<int> v1 = co_await rx.recv();
      std::optional<int> v2 = co_await rx.recv();
      CHECK(v1 == 1);
      CHECK(v2 == 2);
    }());
  }

  TEST_CASE("waiting senders are served in FIFO order, each sender's messages in its order") {
    auto rt = test::single();
    std::vector<int> got;
    rt.block_on([&]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(1);
      std::vector<join_handle<void>> hs;
      for (int s = 0; s < 4; ++s) {
        hs.push_back(spawn(send_all(tx, s * 100, s * 100 + 5)));
        co_await settle();  // sender s queues before sender s+1
      }
      { auto drop = std::move(tx); }
      got = co_await recv_all(rx);
      for (auto& h : hs) co_await h;
    }());
    REQUIRE(got.size() == 20);
    std::vector<int> last(4, -1);
    for (int v : got) {
      CHECK(v % 100 > last[v / 100]);  // per-sender order
      last[v / 100] = v % 100;
    }
    // Room goes to the waiting senders in the order they queued: 0 was in the ring, then
    // sender 0's waiting 1, then 100, 200 and 300.
    CHECK(got[0] == 0);
    CHECK(got[1] == 1);
    CHECK(got[2] == 100);
    CHECK(got[3] == 200);
    CHECK(got[4] == 300);
  }

  TEST_CASE("a receive that waits gets the value straight from the sender") {
    auto [tx, rx] = mpsc::bounded<int>(1);
    std::atomic<bool> waiting{false};
    auto rt = test::multi(2);
    std::thread t([&waiting, tx = std::move(tx)]() mutable {
      while (!waiting.load()) std::this_thread::yield();
      tx.blocking_send(42);
    });
    int v = rt.block_on([](mpsc::receiver<int>& rx, std::atomic<bool>& w) -> task<int> {
      auto op = rx.recv();
      w = true;
      std::optional<int> got = co_await std::move(op);
      co_return got.value_or(-1);
    }(rx, waiting));
    t.join();
    CHECK(v == 42);
  }

  TEST_CASE("try_send hands the value back when full or closed") {
    auto [tx, rx] = mpsc::bounded<std::unique_ptr<int>>(1);
    auto ok = tx.try_send(std::make_unique<int>(1));
    CHECK(ok);
    CHECK_THROWS_AS(ok.value(), usage_error);  // nothing handed back
    auto full = tx.try_send(std::make_unique<int>(2));
    CHECK(full.is_full());
    REQUIRE(full.value() != nullptr);
    CHECK(*full.value() == 2);
    rx.close();
    auto closed = tx.try_send(std::make_unique<int>(3));
    CHECK(closed.is_closed());
    CHECK(*std::move(closed).value() == 3);
    CHECK(tx.is_closed());
  }

  TEST_CASE("a send to a closed channel throws send_error carrying the value") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<std::unique_ptr<int>>(4);
      rx.close();
      bool caught = false;
      try {
        co_await tx.send(std::make_unique<int>(5));
      } catch (const send_error<std::unique_ptr<int>>& e) {
        caught = true;
        CHECK(*e.value() == 5);
        CHECK(std::string(e.what()).find("closed") != std::string::npos);
      }
      CHECK(caught);
    }());
    auto [utx, urx] = mpsc::unbounded<int>();
    { auto drop = std::move(urx); }
    CHECK_THROWS_AS(utx.send(1), send_error<int>);
    try {
      utx.send(9);
    } catch (const channel_closed&) {  // send_error is a channel_closed
    }
    auto r = utx.try_send(3);
    CHECK(r.is_closed());
    CHECK(r.value() == 3);
  }

  TEST_CASE("close(): waiting senders get their values back, queued messages can still be received") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(1);
      co_await tx.send(1);
      auto waiter = spawn([](mpsc::sender<int> tx) -> task<int> {
        try {
          co_await tx.send(2);
        } catch (const send_error<int>& e) {
          co_return e.value();
        }
        co_return -1;
      }(tx));
      co_await settle();
      CHECK_FALSE(waiter.is_finished());
      rx.close();
      CHECK(rx.is_closed());
      int back = co_await waiter;
      CHECK(back == 2);
      std::optional<int> v = co_await rx.recv();
      CHECK(v == 1);
      std::optional<int> end = co_await rx.recv();  // closed and drained, senders or not
      CHECK_FALSE(end.has_value());
    }());
  }

  TEST_CASE("reserve: a permit sends without waiting; dropping it returns the slot") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(1);
      {
        auto p = co_await tx.reserve();
        CHECK(tx.capacity() == 0);
        CHECK_FALSE(tx.try_reserve().has_value());
        CHECK(tx.try_send(1).is_full());
      }
      CHECK(tx.capacity() == 1);
      auto p = co_await tx.reserve();
      p.send(10);
      CHECK_FALSE(p.valid());
      CHECK_THROWS_AS(p.send(11), usage_error);
      std::optional<int> v = co_await rx.recv();
      CHECK(v == 10);
      auto q = tx.try_reserve();
      REQUIRE(q.has_value());
      q->send(12);
      std::optional<int> w = co_await rx.recv();
      CHECK(w == 12);
    }());
  }

  TEST_CASE("a waiting reserve is granted the slot in FIFO order with waiting sends") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(1);
      co_await tx.send(0);
      auto r = spawn([](mpsc::sender<int> tx_param) -> task<void> {
        auto tx = std::move(tx_param);
        auto p = co_await tx.reserve();
        p.send(1);
      }(tx));
      co_await settle();
      auto s = spawn(send_all(tx, 2, 3));
      co_await settle();
      { auto drop = std::move(tx); }
      std::vector<int> got = co_await recv_all(rx);
      CHECK(got == std::vector<int>{0, 1, 2});
      co_await r;
      co_await s;
    }());
  }

  TEST_CASE("a cancelled reserve gives back the slot it was granted") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(1);
      co_await tx.send(0);
      auto r = spawn([](mpsc::sender<int> tx) -> task<void> {
        auto p = co_await tx.reserve();
        p.send(1);
      }(tx));
      co_await settle();
      std::optional<int> v = co_await rx.recv();  // the slot goes to the waiting reserve...
      CHECK(v == 0);
      CHECK(tx.capacity() == 0);
      r.abort();  // ...which is cancelled before it runs
      CHECK_THROWS_AS(co_await r, cancelled);
      CHECK(tx.capacity() == 1);  // the slot is back
      co_await tx.send(2);
      std::optional<int> w = co_await rx.recv();
      CHECK(w == 2);
    }());
  }

  TEST_CASE("permits keep the channel open for the receiver and may send after close()") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(2);
      auto p = co_await tx.reserve();
      { auto drop = std::move(tx); }  // only the permit is left
      rx.close();
      auto recv = spawn([](mpsc::receiver<int>& rx) -> task<std::optional<int>> { co_return co_await rx.recv(); }(rx));
      co_await settle();
      CHECK_FALSE(recv.is_finished());  // the permit may still send
      p.send(3);
      std::optional<int> v = co_await recv;
      CHECK(v == 3);
      std::optional<int> end = co_await rx.recv();
      CHECK_FALSE(end.has_value());
    }());
  }

  TEST_CASE("an unused permit dropped after close() ends the waiting receive") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(2);
      std::optional<mpsc::permit<int>> p = co_await tx.reserve();
      rx.close();
      auto recv = spawn([](mpsc::receiver<int>& rx) -> task<bool> { co_return (co_await rx.recv()).has_value(); }(rx));
      co_await settle();
      CHECK_FALSE(recv.is_finished());
      p.reset();
      bool got = co_await recv;
      CHECK_FALSE(got);
    }());
  }

  TEST_CASE("reserve on a closed channel throws channel_closed; a permit's send after the receiver is gone hands the value back") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(2);
      auto p = co_await tx.reserve();
      rx.close();
      CHECK_THROWS_AS((void)co_await tx.reserve(), channel_closed);
      CHECK_FALSE(tx.try_reserve().has_value());
      { auto drop = std::move(rx); }
      bool caught = false;
      try {
        p.send(4);
      } catch (const send_error<int>& e) {
        caught = e.value() == 4;
      }
      CHECK(caught);
    }());
  }

  TEST_CASE("a receive cancelled after a message was handed to it puts the message back first in line") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(1);
      auto r = spawn([](mpsc::receiver<int>& rx) -> task<std::optional<int>> { co_return co_await rx.recv(); }(rx));
      co_await settle();
      co_await tx.send(1);  // handed straight to the waiting receive
      co_await tx.send(2);  // the ring has room again
      r.abort();            // cancelled before it could resume with 1
      CHECK_THROWS_AS(co_await r, cancelled);
      CHECK(rx.size() == 2);
      std::optional<int> a = co_await rx.recv();
      std::optional<int> b = co_await rx.recv();
      CHECK(a == 1);
      CHECK(b == 2);
    }());
  }

  TEST_CASE("a send cancelled while it waits leaves the queue; its message is destroyed exactly once") {
    counted::reset();
    {
      auto rt = test::single();
      rt.block_on([]() -> task<void> {
        auto [tx, rx] = mpsc::bounded<counted>(1);
        co_await tx.send(counted(1));
        auto s = spawn([](mpsc::sender<counted> tx) -> task<void> { co_await tx.send(counted(2)); }(tx));
        auto s2 = spawn([](mpsc::sender<counted> tx) -> task<void> { co_await tx.send(counted(3)); }(tx));
        co_await settle();
        s.abort();
        CHECK_THROWS_AS(co_await s, cancelled);
        std::optional<counted> a = co_await rx.recv();
        std::optional<counted> b = co_await rx.recv();
        CHECK(a->value == 1);
        CHECK(b->value == 3);  // the cancelled one left no trace
        co_await s2;
      }());
    }
    CHECK(counted::alive() == 0);
  }

  TEST_CASE("dropping the receiver destroys every queued message exactly once") {
    counted::reset();
    {
      auto [tx, rx] = mpsc::unbounded<counted>();
      for (int i = 0; i < 100; ++i) tx.send(counted(i));
      CHECK(counted::alive() == 100);
      { auto drop = std::move(rx); }
      CHECK(counted::alive() == 0);
      auto r = tx.try_send(counted(1));  // closed: handed back, still alive in the result
      CHECK(r.is_closed());
      CHECK(counted::alive() == 1);
    }
    CHECK(counted::alive() == 0);
    // Bounded, with messages queued, permits held and senders waiting when the receiver goes.
    counted::reset();
    {
      auto rt = test::single();
      rt.block_on([]() -> task<void> {
        auto [tx, rx] = mpsc::bounded<counted>(3);
        co_await tx.send(counted(1));
        co_await tx.send(counted(2));
        auto p = co_await tx.reserve();
        auto waiting = spawn([](mpsc::sender<counted> tx) -> task<int> {
          try {
            co_await tx.send(counted(9));
          } catch (const send_error<counted>& e) {
            co_return e.value().value;
          }
          co_return -1;
        }(tx));
        co_await settle();
        { auto drop = std::move(rx); }
        int back = co_await waiting;
        CHECK(back == 9);
        CHECK_THROWS_AS(p.send(counted(3)), send_error<counted>);
      }());
    }
    CHECK(counted::alive() == 0);
  }

  TEST_CASE("dropping the last sender and the receiver in any order frees everything") {
    counted::reset();
    {
      auto [tx, rx] = mpsc::bounded<counted>(8);
      for (int i = 0; i < 5; ++i) CHECK(tx.try_send(counted(i)));
      { auto drop = std::move(tx); }
      auto r = rx.try_recv();
      CHECK(r);
    }
    CHECK(counted::alive() == 0);
  }

  TEST_CASE("a task receiving from an always-ready channel still yields to others (budget)") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::unbounded<int>();
      for (int i = 0; i < 1000; ++i) tx.send(i);
      bool other_ran = false;
      auto other = spawn(test::flag_task(other_ran));
      int seen_at = -1;
      for (int i = 0; i < 1000; ++i) {
        std::optional<int> v = co_await rx.recv();
        CHECK(v == i);
        if (other_ran && seen_at < 0) seen_at = i;
      }
      CHECK(seen_at > 0);  // it ran in the middle: the receiver yielded without ever waiting
      co_await other;
    }());
  }

  TEST_CASE("plain threads: blocking_send into a task, a task into blocking_recv") {
    auto rt = test::multi(2);
    constexpr int n = 10'000;
    const long expected = long(n) * (n - 1) / 2;
    auto ch = mpsc::bounded<int>(16);
    std::thread producer([tx = std::move(ch.first)]() mutable {
      for (int i = 0; i < n; ++i) tx.blocking_send(i);
    });
    long sum = rt.block_on([](mpsc::receiver<int>& rx) -> task<long> {
      long s = 0;
      while (std::optional<int> v = co_await rx.recv()) s += *v;
      co_return s;
    }(ch.second));
    producer.join();
    CHECK(sum == expected);

    auto ch2 = mpsc::bounded<int>(4);
    std::atomic<long> thread_sum{0};
    std::thread consumer([rx = std::move(ch2.second), &thread_sum]() mutable {
      long s = 0;
      while (std::optional<int> v = rx.blocking_recv()) s += *v;
      thread_sum = s;
    });
    rt.block_on([](mpsc::sender<int> tx, int n) -> task<void> {
      for (int i = 0; i < n; ++i) co_await tx.send(i);
    }(std::move(ch2.first), n));
    consumer.join();
    CHECK(thread_sum.load() == expected);
  }

  TEST_CASE("blocking_send into a closed channel throws send_error with the value") {
    auto ch = mpsc::bounded<int>(1);
    ch.first.blocking_send(1);
    std::thread closer([&ch] { ch.second.close(); });
    closer.join();
    CHECK_THROWS_AS(ch.first.blocking_send(2), send_error<int>);
    // A blocked blocking_send is released by close() with its value.
    auto ch2 = mpsc::bounded<int>(1);
    ch2.first.blocking_send(1);
    std::atomic<int> back{0};
    std::thread blocked([&ch2, &back] {
      try {
        ch2.first.blocking_send(2);
      } catch (const send_error<int>& e) {
        back = e.value();
      }
    });
    ch2.second.close();  // before or after the thread blocks: either way it gets 2 back
    blocked.join();
    CHECK(back.load() == 2);
    std::optional<int> v = ch2.second.blocking_recv();
    CHECK(v == 1);
    CHECK_FALSE(ch2.second.blocking_recv().has_value());
  }

  TEST_CASE("misuse: capacity 0, moved-from handles, blocking calls on a worker thread") {
    CHECK_THROWS_AS(mpsc::bounded<int>(0), std::invalid_argument);
    auto [tx, rx] = mpsc::bounded<int>(1);
    auto tx2 = std::move(tx);
    CHECK_FALSE(tx.valid());
    CHECK_THROWS_AS((void)tx.send(1), usage_error);
    CHECK_THROWS_AS((void)tx.try_send(1), usage_error);
    CHECK_THROWS_AS(tx.blocking_send(1), usage_error);
    auto rx2 = std::move(rx);
    CHECK_THROWS_AS((void)rx.recv(), usage_error);
    CHECK_THROWS_AS((void)rx.try_recv(), usage_error);
    auto rt = test::single();
    rt.block_on([](mpsc::sender<int>& tx, mpsc::receiver<int>& rx) -> task<void> {
      CHECK_THROWS_AS(tx.blocking_send(1), usage_error);
      CHECK_THROWS_AS((void)rx.blocking_recv(), usage_error);
      co_return;
    }(tx2, rx2));
  }

  TEST_CASE("a receive that has to wait outside any runtime is a usage_error") {
    auto [tx, rx] = mpsc::bounded<int>(1);
    auto op = rx.recv();
    CHECK_THROWS_AS(op.await_suspend(std::noop_coroutine()), usage_error);
    auto full_send = [&] {
      CHECK(tx.try_send(1));
      auto s = tx.send(2);
      CHECK_THROWS_AS(s.await_suspend(std::noop_coroutine()), usage_error);
    };
    full_send();
    CHECK(rx.size() == 1);  // nothing changed by the refused waits
  }
}
