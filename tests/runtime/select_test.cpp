// select and timeout drive their branches inside the calling task: exactly one branch
// completes, the losers are dropped at their suspension point (nothing they were about to
// receive is lost), any awaitable can be a branch, and an aborted caller cancels its branches.

#include <doctest/doctest.h>
#include <corio/io/fs.hpp>
#include <corio/io/net.hpp>
#include <corio/sync/broadcast.hpp>
#include <corio/sync/mpsc.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/notify.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/sync/watch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "support/fds.hpp"
#include "support/mark.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

task<int> counted_ready(std::atomic<int>& done, int v) {
  done.fetch_add(1);
  co_return v;
}
task<int> after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}
using test::mark;
using test::slow_marked;
task<void> yielder(int& rounds, int n) {
  for (int i = 0; i < n; ++i) {
    ++rounds;
    co_await yield_now();
  }
}

// The other side of every cancel-safety race: keeps a message ready (most of the time) until
// `stop`, so the select under test loses often, on another worker.
task<void> noise(mpsc::unbounded_sender<int> tx, std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    tx.send(1);
    co_await yield_now();
  }
}

// Runs `body(noise_rx)` on a two-worker runtime with a noise task beside it; the body must
// finish within a generous bound (a lost wake-up or a lost item would hang it).
template <class Body>
void with_noise(Body body) {
  auto rt = test::multi(2);
  rt.block_on([&]() -> task<void> {
    std::atomic<bool> stop{false};
    auto [tx, rx] = mpsc::unbounded<int>();
    auto n = spawn(noise(std::move(tx), stop));
    co_await timeout(60s, body(rx));
    stop.store(true);
    co_await n;
  }());
}

// Writes `count` bytes numbered i % 251 through `s` in pieces, yielding between them, then
// drops `s` (the end of the stream for its reader).
template <class Stream>
task<void> write_numbered(Stream s, long count) {
  std::vector<unsigned char> chunk(977);
  long sent = 0;
  while (sent < count) {
    std::size_t k = static_cast<std::size_t>(std::min<long>(count - sent, 977));
    for (std::size_t i = 0; i < k; ++i) chunk[i] = static_cast<unsigned char>((sent + static_cast<long>(i)) % 251);
    co_await s.write_all(chunk.data(), k);
    sent += static_cast<long>(k);
    co_await yield_now();
  }
}

// Reads `s` to its end, each read in a select against `noise_rx` (which keeps a message ready,
// so the read loses often): checks that the bytes are the numbers write_numbered sent, none
// lost, none twice, none out of order, and their count and sum.
template <class Stream>
task<void> read_numbered(Stream& s, mpsc::receiver<int>& noise_rx, long total) {
  long got = 0, sum = 0, expect = 0;
  for (long i = 0; i < total; ++i) expect += i % 251;
  unsigned char buf[300];
  for (;;) {
    auto r = co_await select(s.read(buf, sizeof buf), noise_rx.recv());
    if (r.index() == 1) continue;
    std::size_t k = std::get<0>(r);
    if (k == 0) break;
    for (std::size_t i = 0; i < k; ++i) {
      REQUIRE(buf[i] == (got + static_cast<long>(i)) % 251);  // in order: none lost or twice
      sum += buf[i];
    }
    got += static_cast<long>(k);
  }
  CHECK(got == total);
  CHECK(sum == expect);
}

}  // namespace

TEST_SUITE("select") {
  TEST_CASE("select over plain awaitables: recv, sleep, notified") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::unbounded<int>();
      notify n;
      tx.send(5);
      auto r = co_await select(sleep(1s), rx.recv(), n.notified());
      REQUIRE(r.index() == 1);
      CHECK(std::get<1>(r) == std::optional<int>(5));
      auto r2 = co_await select(rx.recv(), sleep(1s));
      CHECK(r2.index() == 1);  // nothing sent: the sleep wins under paused time
      n.notify_one();
      auto r3 = co_await select(rx.recv(), n.notified());
      CHECK(r3.index() == 1);
    }());
  }

  TEST_CASE("exactly one branch completes, even when several could") {
    auto rt = test::multi(2);
    std::atomic<int> done{0};
    auto r = rt.block_on([&]() -> task<std::variant<int, int, int>> {
      co_return co_await select(counted_ready(done, 1), counted_ready(done, 2), counted_ready(done, 3));
    }());
    CHECK(r.index() == 0);
    CHECK(std::get<0>(r) == 1);
    CHECK(done.load() == 1);  // the others never ran: the first finished before they started
  }

  TEST_CASE("receives that can complete at once are tried in argument order, up to the first task") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx1, rx1] = mpsc::unbounded<int>();
      auto [tx2, rx2] = mpsc::unbounded<int>();
      tx2.send(2);
      auto r = co_await select(rx1.recv(), rx2.recv());  // the first is tried, finds nothing
      REQUIRE(r.index() == 1);
      CHECK(std::get<1>(r) == std::optional<int>(2));
      tx1.send(1);
      tx2.send(3);
      auto r2 = co_await select(rx1.recv(), rx2.recv());  // both ready: the first wins
      REQUIRE(r2.index() == 0);
      CHECK(std::get<0>(r2) == std::optional<int>(1));
      auto left = co_await rx2.recv();  // the second took nothing
      CHECK(left == std::optional<int>(3));
      // A task before a ready receive runs first, and wins since it finishes at once.
      std::atomic<int> done{0};
      tx2.send(4);
      auto r3 = co_await select(counted_ready(done, 7), rx2.recv());
      CHECK(r3.index() == 0);
      CHECK(done.load() == 1);
      auto kept = co_await rx2.recv();
      CHECK(kept == std::optional<int>(4));
      // A finished channel completes the receive at once, with nothing.
      { auto gone = std::move(tx1); }
      auto r4 = co_await select(rx1.recv(), rx2.recv());
      REQUIRE(r4.index() == 0);
      CHECK_FALSE(std::get<0>(r4).has_value());
    }());
  }

  TEST_CASE("a select that always finds a message still yields to the other tasks of its worker") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [tx, rx] = mpsc::unbounded<int>();
      auto [tx2, rx2] = mpsc::unbounded<int>();
      std::atomic<bool> ran{false};
      auto other = spawn([](std::atomic<bool>& r) -> task<void> {
        r.store(true);
        co_return;
      }(ran));
      int rounds = 0;
      while (!ran.load() && rounds < 100000) {
        tx.send(rounds);
        auto r = co_await select(rx.recv(), rx2.recv());
        CHECK(r.index() == 0);
        ++rounds;
      }
      CHECK(ran.load());
      CHECK(rounds <= 2 * static_cast<int>(detail::coop_budget));  // the budget ran out, the task yielded
      co_await other;
    }());
  }

  TEST_CASE("losers are destroyed before select returns; void and reference results") {
    auto rt = test::paused();
    std::vector<std::string> log;
    int x = 4;
    rt.block_on([&]() -> task<void> {
      auto v = co_await select(slow_marked(log, "loser"), sleep(1ms));
      log.push_back("returned");
      CHECK(v.index() == 1);
      CHECK(std::holds_alternative<std::monostate>(v));
      auto ref = co_await select([](int& y) -> task<int&> { co_return y; }(x), sleep(1s));
      REQUIRE(ref.index() == 0);
      std::get<0>(ref).get() = 9;
    }());
    CHECK(log == std::vector<std::string>{"loser", "returned"});
    CHECK(x == 9);
  }

  TEST_CASE("select rethrows the winner's exception; a loser's frame still unwinds") {
    auto rt = test::paused();
    std::vector<std::string> log;
    CHECK_THROWS_WITH_AS(rt.block_on([&]() -> task<void> {
      co_await select(slow_marked(log, "x"), []() -> task<void> {
        co_await sleep(1ms);
        throw std::runtime_error("winner threw");
      }());
    }()),
                         "winner threw", std::runtime_error);
    CHECK(log == std::vector<std::string>{"x"});
  }

  TEST_CASE("a branch that yields makes the caller yield and is polled again") {
    auto rt = test::single();
    int rounds = 0;
    auto r = rt.block_on([&]() -> task<std::size_t> {
      auto v = co_await select(yielder(rounds, 300), sleep(1h));
      co_return v.index();
    }());
    CHECK(r == 0);
    CHECK(rounds == 300);
  }

  TEST_CASE("nested select inside a branch") {
    auto rt = test::paused();
    auto r = rt.block_on([]() -> task<int> {
      auto inner = [](int v) -> task<int> {
        auto x = co_await select(after(5ms, v), after(10ms, -1));
        co_return std::get<0>(x);
      };
      auto v = co_await select(inner(3), after(7ms, 4));
      co_return v.index() == 0 ? std::get<0>(v) : -100;
    }());
    CHECK(r == 3);
  }

  TEST_CASE("aborting the caller cancels its branches first") {
    auto rt = test::paused(false);
    std::vector<std::string> log;
    rt.block_on([&]() -> task<void> {
      auto h = spawn([](std::vector<std::string>& l) -> task<void> {
        mark m{&l, "parent"};
        co_await select(slow_marked(l, "a"), slow_marked(l, "b"));
      }(log));
      co_await sleep(1ms);
      h.abort();
      CHECK_THROWS_AS(co_await h, cancelled);
    }());
    REQUIRE(log.size() == 3);
    CHECK(log.back() == "parent");
  }

  TEST_CASE("select over two mpsc receivers on two workers: every message exactly once") {
    auto rt = test::multi(2);
    const long per = test::scaled(50'000);
    auto [sum, count] = rt.block_on([per]() -> task<std::pair<long, long>> {
      auto [tx1, rx1] = mpsc::bounded<long>(64);
      auto [tx2, rx2] = mpsc::bounded<long>(64);
      auto feed = [](mpsc::sender<long> tx, long from, long n) -> task<void> {
        for (long i = 0; i < n; ++i) co_await tx.send(from + i);
      };
      auto p1 = spawn(feed(std::move(tx1), 0, per));
      auto p2 = spawn(feed(std::move(tx2), per, per));
      long s = 0, c = 0;
      bool open1 = true, open2 = true;
      while (open1 || open2) {
        if (open1 && open2) {
          auto r = co_await select(rx1.recv(), rx2.recv());
          std::optional<long> v = r.index() == 0 ? std::get<0>(r) : std::get<1>(r);
          if (!v) {
            (r.index() == 0 ? open1 : open2) = false;
            continue;
          }
          s += *v;
          ++c;
        } else {
          auto& rx = open1 ? rx1 : rx2;
          std::optional<long> v = co_await rx.recv();
          if (!v) {
            open1 = open2 = false;
            continue;
          }
          s += *v;
          ++c;
        }
      }
      co_await p1;
      co_await p2;
      co_return std::pair{s, c};
    }());
    const long n = 2 * per;
    CHECK(count == n);
    CHECK(sum == n * (n - 1) / 2);
  }

  // Cancel safety: each primitive loses select races against a busy channel on a multi-worker
  // runtime; nothing it was about to deliver is lost or duplicated.
  TEST_CASE("cancel safety: broadcast recv") {
    const int n = static_cast<int>(test::scaled(20'000));
    with_noise([n](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto [btx, brx] = broadcast::channel<int>(static_cast<std::size_t>(n) + 1);
      auto feed = [](broadcast::sender<int> tx, int count) -> task<void> {
        for (int i = 0; i < count; ++i) {
          tx.send(i);
          if (i % 16 == 0) co_await yield_now();
        }
      };
      auto f = spawn(feed(btx, n));
      int next = 0, noise_wins = 0;
      while (next < n) {
        auto r = co_await select(brx.recv(), noise_rx.recv());
        if (r.index() == 1) {
          ++noise_wins;
          continue;
        }
        REQUIRE(std::get<0>(r) == std::optional<int>(next));  // in order, none lost or twice
        ++next;
      }
      co_await f;
      MESSAGE("noise won " << noise_wins << " races");
    });
  }

  TEST_CASE("cancel safety: semaphore acquire") {
    const int n = static_cast<int>(test::scaled(20'000));
    semaphore sem(0);
    with_noise([n, &sem](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto feed = [](semaphore& s, int count) -> task<void> {
        for (int i = 0; i < count; ++i) {
          s.add_permits(1);
          co_await yield_now();
        }
      };
      auto f = spawn(feed(sem, n));
      int got = 0;
      while (got < n) {
        auto r = co_await select(sem.acquire(), noise_rx.recv());
        if (r.index() == 0) {
          std::get<0>(r).forget();  // consumed
          ++got;
        }
      }
      co_await f;
    });
    CHECK(sem.available_permits() == 0);  // no permit lost (we got n) or made up
  }

  TEST_CASE("cancel safety: mutex lock") {
    const int n = static_cast<int>(test::scaled(20'000));
    mutex<int> m(0);
    with_noise([n, &m](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto other = [](mutex<int>& mx, int count) -> task<void> {
        for (int i = 0; i < count; ++i) {
          auto g = co_await mx.lock();
          ++*g;
          co_await yield_now();
        }
      };
      auto f = spawn(other(m, n));
      int mine = 0;
      while (mine < n) {
        auto r = co_await select(m.lock(), noise_rx.recv());
        if (r.index() == 0) {
          ++*std::get<0>(r);
          ++mine;
        }
      }
      co_await f;
    });
    auto g = m.try_lock();
    REQUIRE(g);  // no lock leaked by a cancelled lock()
    CHECK(**g == 2 * n);
  }

  TEST_CASE("cancel safety: notify::notified") {
    const int n = static_cast<int>(test::scaled(10'000));
    with_noise([n](mpsc::receiver<int>& noise_rx) -> task<void> {
      notify nt;
      auto [ack_tx, ack_rx] = mpsc::unbounded<int>();
      auto notifier = [](notify& x, mpsc::receiver<int> acks, int count) -> task<void> {
        for (int i = 0; i < count; ++i) {
          x.notify_one();
          co_await acks.recv();  // one notification outstanding at a time
        }
      };
      auto f = spawn(notifier(nt, std::move(ack_rx), n));
      int got = 0;
      while (got < n) {
        auto r = co_await select(nt.notified(), noise_rx.recv());
        if (r.index() == 0) {
          ++got;
          ack_tx.send(got);
        }
      }
      co_await f;
    });
  }

  // Also a regression test for the io_uring reactor: while the other branch always has a
  // message ready the worker never parks, and its zero-timeout poll must still enter the kernel
  // to run the completion work (COOP/DEFER_TASKRUN) or the accept starves.
  TEST_CASE("cancel safety: tcp accept") {
    const int n = static_cast<int>(test::scaled(500));
    with_noise([n](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto l = net::tcp_listener::bind({"127.0.0.1", 0});
      auto addr = l.local_address();
      auto dial = [](net::socket_address a, int count) -> task<void> {
        for (int i = 0; i < count; ++i) {
          auto s = co_await net::tcp_stream::connect(a);
          char c = 0;
          co_await s.read(&c, 1);  // held open until the server side closes
        }
      };
      // The claim holds for the accept queue (io_uring multishot), which a listener uses after
      // its first 32 one-shot accepts. A one-shot accept (the warm-up, and every accept on the
      // epoll backend) that completed and then lost the race closes the connection it got.
      auto warm = spawn(dial(addr, 40));
      for (int i = 0; i < 40; ++i) {
        co_await l.accept();
      }
      co_await warm;
      if (!detail::accept_queue::usable_here()) {
        MESSAGE("skipped: no multishot accept queue on this backend");
        co_return;
      }
      auto f = spawn(dial(addr, n));
      int got = 0;
      while (got < n) {
        auto r = co_await select(l.accept(), noise_rx.recv());
        if (r.index() == 0) ++got;  // the accepted stream closes here; the dialer moves on
      }
      co_await f;
    });
  }

  TEST_CASE("cancel safety: mpsc recv (the loser's channel keeps its message)") {
    const int n = static_cast<int>(test::scaled(20'000));
    with_noise([n](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto [tx, rx] = mpsc::bounded<int>(8);
      auto feed = [](mpsc::sender<int> t, int count) -> task<void> {
        for (int i = 0; i < count; ++i) co_await t.send(i);
      };
      auto f = spawn(feed(std::move(tx), n));
      int next = 0;
      while (next < n) {
        auto r = co_await select(rx.recv(), noise_rx.recv());
        if (r.index() == 0) {
          REQUIRE(std::get<0>(r) == std::optional<int>(next));
          ++next;
        }
      }
      co_await f;
    });
  }

  TEST_CASE("cancel safety: watch::changed") {
    const int n = static_cast<int>(test::scaled(10'000));
    with_noise([n](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto [wtx, wrx] = watch::channel<int>(0);
      auto [ack_tx, ack_rx] = mpsc::unbounded<int>();
      auto sender = [](watch::sender<int> tx, mpsc::receiver<int> acks, int count) -> task<void> {
        for (int i = 1; i <= count; ++i) {
          tx.send_replace(i);
          co_await acks.recv();  // one change outstanding at a time: none is overwritten
        }
      };
      auto f = spawn(sender(std::move(wtx), std::move(ack_rx), n));
      int next = 1;
      while (next <= n) {
        auto r = co_await select(wrx.changed(), noise_rx.recv());
        if (r.index() == 1) continue;
        int v = *wrx.borrow_and_update();
        REQUIRE(v == next);  // a lost race neither marked it seen nor skipped it
        ack_tx.send(v);
        ++next;
      }
      co_await f;
    });
  }

  // A read that loses to a channel that always has a message: with io_uring the read's request
  // reaches the kernel together with its cancellation and completes first whenever bytes are
  // waiting, so every round's read takes bytes after losing. They must come back, in order,
  // from the stream's next read (byte count, order and sum), and the reads must make progress.
  TEST_CASE("cancel safety: tcp_stream read (byte count and sum)") {
    const long total = test::scaled(200'000);
    with_noise([total](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto l = net::tcp_listener::bind({"127.0.0.1", 0});
      auto client = co_await net::tcp_stream::connect(l.local_address());
      auto server = co_await l.accept();
      auto f = spawn(write_numbered(std::move(client), total));  // closes: end of stream for the reader
      co_await read_numbered(server, noise_rx, total);
      co_await f;
    });
  }

  TEST_CASE("cancel safety: pipe read (byte count, order and sum)") {
    const long total = test::scaled(200'000);
    with_noise([total](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto [rd, wr] = fs::pipe();
      auto f = spawn(write_numbered(std::move(wr), total));
      co_await read_numbered(rd, noise_rx, total);
      co_await f;
    });
  }

  TEST_CASE("cancel safety: stdin read (byte count, order and sum)") {
    const long total = test::scaled(200'000);
    auto [rd, wr] = fs::pipe();
    test::redirect in(STDIN_FILENO, rd.native_handle());
    rd.close();  // fd 0 is the read end now
    with_noise([total, &wr](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto f = spawn(write_numbered(std::move(wr), total));
      auto reader = fs::stdin_stream();
      co_await read_numbered(reader, noise_rx, total);
      co_await f;
    });
    CHECK(detail::stdin_stash().empty());
  }

  TEST_CASE("cancel safety: two copies of stdin read at once on two workers: every byte exactly once") {
    const long total = test::scaled(200'000);
    auto [rd, wr] = fs::pipe();
    test::redirect in(STDIN_FILENO, rd.native_handle());
    rd.close();
    with_noise([total, &wr](mpsc::receiver<int>& noise_rx) -> task<void> {
      auto f = spawn(write_numbered(std::move(wr), total));
      std::vector<long> seen(251, 0), other(251, 0);
      auto second = spawn([](std::vector<long>& counts) -> task<void> {  // loses to yield_now instead
        auto in = fs::stdin_stream();
        unsigned char buf[300];
        for (;;) {
          auto r = co_await select(in.read(buf, sizeof buf), yield_now());
          if (r.index() == 1) continue;
          std::size_t k = std::get<0>(r);
          if (k == 0) co_return;
          for (std::size_t i = 0; i < k; ++i) ++counts[buf[i]];
        }
      }(other));
      auto in = fs::stdin_stream();
      unsigned char buf[300];
      for (;;) {
        auto r = co_await select(in.read(buf, sizeof buf), noise_rx.recv());
        if (r.index() == 1) continue;
        std::size_t k = std::get<0>(r);
        if (k == 0) break;
        for (std::size_t i = 0; i < k; ++i) ++seen[buf[i]];
      }
      co_await second;
      co_await f;
      std::vector<long> expect(251, 0);
      for (long i = 0; i < total; ++i) ++expect[static_cast<std::size_t>(i % 251)];
      for (std::size_t v = 0; v < 251; ++v) seen[v] += other[v];
      CHECK(seen == expect);  // every byte once between them: none lost, none twice
    });
    CHECK(detail::stdin_stash().empty());
  }

  TEST_CASE("aborting the caller while a branch is in I/O cancels the read first") {
    auto rt = test::multi(2);
    rt.block_on([]() -> task<void> {
      auto l = net::tcp_listener::bind({"127.0.0.1", 0});
      auto client = co_await net::tcp_stream::connect(l.local_address());
      auto server = co_await l.accept();
      auto reader = [](net::tcp_stream& s) -> task<void> {
        char buf[64];
        auto r = co_await select(s.read(buf, sizeof buf), sleep(1h));
        (void)r;
      };
      auto h = spawn(reader(server));
      co_await sleep(10ms);  // the read is in flight (or at least the branch is)
      h.abort();
      CHECK_THROWS_AS(co_await h, cancelled);
      co_await client.write_all("x");  // the stream still works after the cancelled read
      char c = 0;
      CHECK(co_await server.read(&c, 1) == 1);
      CHECK(c == 'x');
    }());
  }

  // An awaiter that opts in to being driven in place (detail/branch_slot.hpp), counting its
  // lives: 0 ready at once, 1 done inside await_suspend, 2 await_suspend throws, 3 suspends
  // (nobody will wake it).
  struct in_place_probe {
    using corio_direct_branch = void;
    int* live;
    int mode;
    in_place_probe(int* l, int m) noexcept : live(l), mode(m) { ++*live; }
    in_place_probe(in_place_probe&& o) noexcept : live(o.live), mode(o.mode) { ++*live; }
    ~in_place_probe() { --*live; }
    bool await_ready() const noexcept { return mode == 0; }
    bool await_suspend(std::coroutine_handle<>) {
      if (mode == 2) throw std::runtime_error("refused");
      return mode == 3;
    }
    int await_resume() const noexcept { return mode; }
  };

  TEST_CASE("awaiters driven in place: argument order, results, each destroyed once") {
    auto rt = test::paused();
    int live = 0;
    rt.block_on([](int& live) -> task<void> {
      auto a = co_await select(in_place_probe(&live, 3), in_place_probe(&live, 0));
      CHECK(a.index() == 1);
      CHECK(std::get<1>(a) == 0);
      CHECK(live == 0);  // the loser went before select returned
      auto b = co_await select(in_place_probe(&live, 1), sleep(1h));
      CHECK(b.index() == 0);
      CHECK(std::get<0>(b) == 1);
      auto c = co_await select(in_place_probe(&live, 0), in_place_probe(&live, 0));
      CHECK(c.index() == 0);  // both ready: the first in argument order
      CHECK(co_await timeout(1h, in_place_probe(&live, 0)) == 0);
      CHECK(co_await timeout(std::chrono::milliseconds(0), in_place_probe(&live, 1)) == 1);  // done before suspending
      CHECK_THROWS_AS(co_await timeout(1ms, in_place_probe(&live, 3)), timed_out);
      CHECK(live == 0);
    }(live));
    CHECK(live == 0);
  }

  TEST_CASE("an in-place awaiter whose await_suspend throws: the select rethrows after cancelling the rest") {
    auto rt = test::paused();
    int live = 0;
    std::vector<std::string> log;
    CHECK_THROWS_WITH_AS(rt.block_on([&]() -> task<void> {
      co_await select(slow_marked(log, "x"), in_place_probe(&live, 2));
    }()),
                         "refused", std::runtime_error);
    CHECK(log == std::vector<std::string>{"x"});
    CHECK(live == 0);
    CHECK_THROWS_WITH_AS(rt.block_on([&]() -> task<int> { co_return co_await timeout(1h, in_place_probe(&live, 2)); }()),
                         "refused", std::runtime_error);
    CHECK(live == 0);
  }
}
