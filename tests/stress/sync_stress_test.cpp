// Stress for the sync primitives on the multi-threaded scheduler: exactly-once and per-sender
// order through mpsc under contention, a contended mutex, rw_lock invariants, random
// cancellation of waiters while others hand off, plain threads and tasks on one channel, and
// message lifetimes on every close/drop path. Sizes shrink under the sanitizers
// (CORIO_TEST_SCALE).

#include <doctest/doctest.h>
#include <corio/sync/broadcast.hpp>
#include <corio/sync/mpsc.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/rw_lock.hpp>
#include <corio/sync/semaphore.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::counted;

namespace {

// --- mpsc -------------------------------------------------------------------------------------

task<void> produce(mpsc::sender<std::uint64_t> tx_param, std::uint64_t id, long n) {
  auto tx = std::move(tx_param);
  for (long i = 0; i < n; ++i) co_await tx.send((id << 32) | static_cast<std::uint64_t>(i));
}

/// Receives until every sender is gone; checks that each sender's messages come exactly once,
/// in order. Returns how many arrived.
task<long> consume_in_order(mpsc::receiver<std::uint64_t>& rx, std::size_t senders) {
  std::vector<long> next(senders, 0);
  long total = 0;
  bool ok = true;
  while (std::optional<std::uint64_t> v = co_await rx.recv()) {
    std::size_t id = static_cast<std::size_t>(*v >> 32);
    long seq = static_cast<long>(*v & 0xffffffffu);
    if (id >= senders || seq != next[id]) ok = false;
    else ++next[id];
    ++total;
  }
  CHECK(ok);
  co_return total;
}

// --- mutex ------------------------------------------------------------------------------------

task<void> increment(std::shared_ptr<mutex<long>> m, long k) {
  for (long i = 0; i < k; ++i) {
    auto g = co_await m->lock();
    ++*g;
  }
}

struct counters {
  long total = 0;
  std::vector<long> per_task;
};

task<void> increment_and_record(mutex<counters>& m, std::size_t me, long k, unsigned seed) {
  std::minstd_rand rng(seed);
  for (long i = 0; i < k; ++i) {
    auto g = co_await m.lock();
    ++g->total;
    ++g->per_task[me];
    if (rng() % 4 == 0) co_await yield_now();  // hold it across a suspension now and then
  }
}

// --- rw_lock ----------------------------------------------------------------------------------

struct pair_state {
  long a = 0, b = 0;
  int writers_inside = 0;
  mutable std::atomic<int> readers_inside{0};  // touched under a read lock
};

task<long> rw_worker(rw_lock<pair_state>& l, bool writer, long ops, unsigned seed, std::atomic<bool>& ok) {
  std::minstd_rand rng(seed);
  long done = 0;
  for (long i = 0; i < ops; ++i) {
    // The bookkeeping is undone by destructors, so a task aborted at a yield inside its
    // critical section leaves the state whole (as RAII code must).
    if (writer) {
      auto w = co_await l.write();
      if (++w->writers_inside != 1 || w->readers_inside.load() != 0) ok = false;
      struct finish_write {
        pair_state& s;
        ~finish_write() {
          s.b = s.a;
          --s.writers_inside;
        }
      } fin{*w};
      ++w->a;
      if (rng() % 2) co_await yield_now();  // a reader must never see a != b
      ++w->b;
    } else {
      auto r = co_await l.read();
      r->readers_inside.fetch_add(1);
      struct leave_read {
        const pair_state& s;
        ~leave_read() { s.readers_inside.fetch_sub(1); }
      } fin{*r};
      if (r->a != r->b || r->writers_inside != 0) ok = false;
      if (rng() % 4 == 0) co_await yield_now();
      if (r->a != r->b) ok = false;
    }
    ++done;
  }
  co_return done;
}

}  // namespace

TEST_SUITE("sync_stress") {
  TEST_CASE("mpsc: 8 producers x 100,000 messages, exactly once and in per-sender order") {
    auto rt = test::multi(2);
    const long n = test::scaled(100'000);
    const std::size_t producers = 8;
    for (std::size_t cap : {std::size_t{1}, std::size_t{64}, std::size_t{1024}}) {
      CAPTURE(cap);
      auto [tx, rx] = mpsc::bounded<std::uint64_t>(cap);
      long total = rt.block_on([](mpsc::sender<std::uint64_t> tx, mpsc::receiver<std::uint64_t>& rx, long n) -> task<long> {
        for (std::uint64_t p = 0; p < producers; ++p) spawn(produce(tx, p, n)).detach();
        { auto drop = std::move(tx); }
        co_return co_await consume_in_order(rx, producers);
      }(std::move(tx), rx, n));
      CHECK(total == long(producers) * n);
    }
  }

  TEST_CASE("mpsc unbounded: 8 producers on plain threads and tasks, exactly once and in order") {
    const long n = test::scaled(100'000);
    auto [tx, rx] = mpsc::unbounded<std::uint64_t>();
    std::vector<std::thread> threads;
    auto rt = test::multi(2);
    for (std::uint64_t p = 0; p < 4; ++p)
      threads.emplace_back([tx, p, n]() mutable {
        for (long i = 0; i < n; ++i) tx.send((p << 32) | static_cast<std::uint64_t>(i));
      });
    long total = rt.block_on([](mpsc::unbounded_sender<std::uint64_t> tx, mpsc::receiver<std::uint64_t>& rx, long n) -> task<long> {
      for (std::uint64_t p = 4; p < 8; ++p)
        spawn([](mpsc::unbounded_sender<std::uint64_t> tx_param, std::uint64_t id, long n) -> task<void> {
          auto tx = std::move(tx_param);
          for (long i = 0; i < n; ++i) {
            tx.send((id << 32) | static_cast<std::uint64_t>(i));
            if (i % 64 == 0) co_await yield_now();
          }
        }(tx, p, n)).detach();
      { auto drop = std::move(tx); }
      co_return co_await consume_in_order(rx, 8);
    }(std::move(tx), rx, n));
    for (auto& t : threads) t.join();
    CHECK(total == 8 * n);
  }

  TEST_CASE("mpsc: blocking_send/blocking_recv between plain threads and tasks, both ways") {
    const long n = test::scaled(100'000);
    // threads -> task
    auto [tx, rx] = mpsc::bounded<std::uint64_t>(8);
    std::vector<std::thread> threads;
    auto rt = test::multi(2);
    for (std::uint64_t p = 0; p < 2; ++p)
      threads.emplace_back([tx, p, n]() mutable {
        for (long i = 0; i < n; ++i) tx.blocking_send((p << 32) | static_cast<std::uint64_t>(i));
      });
    { auto drop = std::move(tx); }
    long total = rt.block_on(consume_in_order(rx, 2));
    for (auto& t : threads) t.join();
    CHECK(total == 2 * n);
    // tasks -> thread
    auto [tx2, rx2] = mpsc::bounded<std::uint64_t>(8);
    std::atomic<long> got{0};
    std::atomic<bool> in_order{true};
    std::thread consumer([rx = std::move(rx2), &got, &in_order]() mutable {
      std::vector<long> next(2, 0);
      while (std::optional<std::uint64_t> v = rx.blocking_recv()) {
        std::size_t id = static_cast<std::size_t>(*v >> 32);
        if (static_cast<long>(*v & 0xffffffffu) != next[id]++) in_order = false;
        ++got;
      }
    });
    rt.block_on([](mpsc::sender<std::uint64_t> tx, long n) -> task<void> {
      auto a = spawn(produce(tx, 0, n));
      auto b = spawn(produce(std::move(tx), 1, n));
      co_await a;
      co_await b;
    }(std::move(tx2), n));
    consumer.join();
    CHECK(got.load() == 2 * n);
    CHECK(in_order.load());
  }

  TEST_CASE("mpsc: receiving tasks aborted at random while messages flow lose and duplicate nothing") {
    const long n = test::scaled(50'000);
    auto [tx, rx] = mpsc::bounded<std::uint64_t>(4);
    std::atomic<long> received{0};
    std::vector<std::atomic<long>> next(4);
    std::atomic<bool> ok{true};
    auto rt = test::multi(2);
    rt.block_on([](mpsc::sender<std::uint64_t> tx, mpsc::receiver<std::uint64_t>& rx, long n, std::atomic<long>& received,
                   std::vector<std::atomic<long>>& next, std::atomic<bool>& ok) -> task<void> {
      for (std::uint64_t p = 0; p < 4; ++p) spawn(produce(tx, p, n)).detach();
      { auto drop = std::move(tx); }
      std::minstd_rand rng(7);
      for (;;) {
        // One receiving task at a time (the receiver is single-consumer), aborted at random.
        auto h = spawn([](mpsc::receiver<std::uint64_t>& rx, std::atomic<long>& received, std::vector<std::atomic<long>>& next,
                          std::atomic<bool>& ok) -> task<bool> {
          while (std::optional<std::uint64_t> v = co_await rx.recv()) {
            std::size_t id = static_cast<std::size_t>(*v >> 32);
            if (static_cast<long>(*v & 0xffffffffu) != next[id].load()) ok = false;
            next[id].fetch_add(1);
            received.fetch_add(1);
          }
          co_return true;
        }(rx, received, next, ok));
        for (unsigned y = rng() % 8; y > 0; --y) co_await yield_now();
        h.abort();
        bool finished = false;
        try {
          finished = co_await h;
        } catch (const cancelled&) {
        }
        if (finished) break;
      }
    }(std::move(tx), rx, n, received, next, ok));
    CHECK(ok.load());
    CHECK(received.load() == 4 * n);
  }

  TEST_CASE("mpsc: senders aborted at random while waiting; counted messages all destroyed, order kept") {
    counted::reset();
    {
      auto rt = test::multi(2);
      const int senders = 32;
      const long n = test::scaled(5'000);
      std::vector<long> got(senders, 0);
      bool contiguous = true;
      rt.block_on([](long n, std::vector<long>& got, bool& contiguous) -> task<void> {
        auto [tx, rx] = mpsc::bounded<counted>(2);
        std::vector<join_handle<void>> hs;
        for (int s = 0; s < senders; ++s)
          hs.push_back(spawn([](mpsc::sender<counted> tx_param, int id, long n) -> task<void> {
            auto tx = std::move(tx_param);
            for (long i = 0; i < n; ++i) co_await tx.send(counted(int(id * 1'000'000 + i)));
          }(tx, s, n)));
        { auto drop = std::move(tx); }
        auto aborter = spawn([](std::vector<join_handle<void>>& hs) -> task<void> {
          std::minstd_rand rng(11);
          for (int k = 0; k < senders / 2; ++k) {
            for (unsigned y = rng() % 16; y > 0; --y) co_await yield_now();
            hs[rng() % hs.size()].abort();
          }
        }(hs));
        while (std::optional<counted> m = co_await rx.recv()) {
          int id = m->value / 1'000'000;
          if (m->value % 1'000'000 != got[id]) contiguous = false;
          ++got[id];
        }
        co_await aborter;
        for (auto& h : hs) {
          try {
            co_await h;
          } catch (const cancelled&) {
          }
        }
      }(n, got, contiguous));
      CHECK(contiguous);  // each sender's messages are a gap-free prefix of what it meant to send
    }
    CHECK(counted::alive() == 0);
  }

  TEST_CASE("mpsc: counted messages on every close/drop path are destroyed exactly once") {
    counted::reset();
    {
      auto rt = test::multi(2);
      const int rounds = int(test::scaled(200));
      rt.block_on([](int rounds) -> task<void> {
        std::minstd_rand rng(3);
        for (int r = 0; r < rounds; ++r) {
          auto [tx, rx] = mpsc::bounded<counted>(1 + rng() % 8);
          std::vector<join_handle<long>> hs;
          for (int s = 0; s < 4; ++s)
            hs.push_back(spawn([](mpsc::sender<counted> tx_param, int k) -> task<long> {
              auto tx = std::move(tx_param);
              long sent = 0;
              try {
                for (int i = 0; i < k; ++i) {
                  if (i % 3 == 0) {
                    auto p = co_await tx.reserve();
                    if (i % 2) p.send(counted(i));  // else dropped unused
                  } else {
                    co_await tx.send(counted(i));
                  }
                  ++sent;
                }
              } catch (const channel_closed&) {  // send_error or a refused reserve
              }
              co_return sent;
            }(tx, int(rng() % 50))));
          { auto drop = std::move(tx); }
          for (unsigned k = rng() % 20; k > 0; --k) (void)co_await rx.recv();
          switch (rng() % 3) {
            case 0: rx.close(); break;
            case 1: { auto drop = std::move(rx); } break;
            default: break;  // keep draining
          }
          if (rx.valid())
            while (auto m = co_await rx.recv()) {  // bound to a name: see README, GCC 12
            }
          for (auto& h : hs) (void)co_await h;
        }
      }(rounds));
    }
    CHECK(counted::alive() == 0);
  }

  TEST_CASE("mutex: 1,000 tasks x 1,000 increments") {
    auto rt = test::multi(2);
    const long tasks = test::scaled(1'000), k = test::scaled(1'000);
    auto m = std::make_shared<mutex<long>>(0);
    rt.block_on([](std::shared_ptr<mutex<long>> m, long tasks, long k) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (long i = 0; i < tasks; ++i) hs.push_back(spawn(increment(m, k)));
      for (auto& h : hs) co_await h;
    }(m, tasks, k));
    CHECK(m->get_unsynchronized() == tasks * k);
    CHECK_FALSE(m->is_locked());
  }

  TEST_CASE("mutex: waiters aborted at random while others hand off") {
    const std::size_t tasks = 200;
    const long k = test::scaled(2'000);
    mutex<counters> m;
    auto rt = test::multi(2);
    m.get_unsynchronized().per_task.assign(tasks, 0);
    rt.block_on([](mutex<counters>& m, long k) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (std::size_t i = 0; i < tasks; ++i) hs.push_back(spawn(increment_and_record(m, i, k, unsigned(i))));
      std::minstd_rand rng(5);
      for (int a = 0; a < 100; ++a) {
        for (unsigned y = rng() % 32; y > 0; --y) co_await yield_now();
        hs[rng() % hs.size()].abort();
      }
      for (auto& h : hs) {
        try {
          co_await h;
        } catch (const cancelled&) {
        }
      }
    }(m, k));
    CHECK_FALSE(m.is_locked());
    REQUIRE(m.try_lock().has_value());
    long sum = 0;
    for (long c : m.get_unsynchronized().per_task) sum += c;
    CHECK(sum == m.get_unsynchronized().total);
  }

  TEST_CASE("mutex: plain threads with blocking_lock and tasks contend") {
    auto rt = test::multi(2);
    const long k = test::scaled(50'000);
    auto m = std::make_shared<mutex<long>>(0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([m, k] {
        for (long i = 0; i < k; ++i) ++*m->blocking_lock();
      });
    rt.block_on([](std::shared_ptr<mutex<long>> m, long k) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 8; ++i) hs.push_back(spawn(increment(m, k)));
      for (auto& h : hs) co_await h;
    }(m, k));
    for (auto& t : threads) t.join();
    CHECK(m->get_unsynchronized() == 10 * k);
  }

  TEST_CASE("rw_lock: readers never see a half-done write; writers are alone") {
    const long ops = test::scaled(20'000);
    rw_lock<pair_state> l;
    std::atomic<bool> ok{true};
    auto rt = test::multi(2);
    long done = rt.block_on([](rw_lock<pair_state>& l, long ops, std::atomic<bool>& ok) -> task<long> {
      std::vector<join_handle<long>> hs;
      for (int i = 0; i < 16; ++i) hs.push_back(spawn(rw_worker(l, i % 4 == 0, ops, unsigned(i), ok)));
      long d = 0;
      for (auto& h : hs) d += co_await h;
      co_return d;
    }(l, ops, ok));
    CHECK(ok.load());
    CHECK(done == 16 * ops);
    CHECK(l.get_unsynchronized().a == 4 * ops);
    CHECK(l.get_unsynchronized().a == l.get_unsynchronized().b);
  }

  TEST_CASE("rw_lock: waiters aborted at random; the lock ends free") {
    const long ops = test::scaled(5'000);
    rw_lock<pair_state> l;
    std::atomic<bool> ok{true};
    auto rt = test::multi(2);
    rt.block_on([](rw_lock<pair_state>& l, long ops, std::atomic<bool>& ok) -> task<void> {
      std::vector<join_handle<long>> hs;
      for (int i = 0; i < 64; ++i) hs.push_back(spawn(rw_worker(l, i % 3 == 0, ops, unsigned(i), ok)));
      std::minstd_rand rng(9);
      for (int a = 0; a < 40; ++a) {
        for (unsigned y = rng() % 16; y > 0; --y) co_await yield_now();
        hs[rng() % hs.size()].abort();
      }
      for (auto& h : hs) {
        try {
          (void)co_await h;
        } catch (const cancelled&) {
        }
      }
    }(l, ops, ok));
    CHECK(ok.load());
    CHECK(l.reader_count() == 0);
    CHECK_FALSE(l.is_write_locked());
    CHECK(l.try_write().has_value());
  }

  TEST_CASE("semaphore: acquirers aborted at random; every permit comes back") {
    semaphore s(5);
    auto rt = test::multi(2);
    const long ops = test::scaled(5'000);
    std::atomic<long> inside{0};
    std::atomic<bool> ok{true};
    rt.block_on([](semaphore& s, long ops, std::atomic<long>& inside, std::atomic<bool>& ok) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 64; ++i)
        hs.push_back(spawn([](semaphore& s, long ops, unsigned seed, std::atomic<long>& inside, std::atomic<bool>& ok) -> task<void> {
          std::minstd_rand rng(seed);
          for (long j = 0; j < ops; ++j) {
            std::size_t n = 1 + rng() % 3;
            auto p = co_await s.acquire_many(n);
            if (inside.fetch_add(long(n)) + long(n) > 5) ok = false;
            // Declared after the permit so it runs first when an abort destroys the frame
            // mid-yield: the count drops before the permits go back.
            struct leave {
              std::atomic<long>& inside;
              long n;
              ~leave() { inside.fetch_sub(n); }
            } guard{inside, long(n)};
            if (rng() % 2) co_await yield_now();
          }
        }(s, ops, unsigned(i), inside, ok)));
      std::minstd_rand rng(13);
      for (int a = 0; a < 40; ++a) {
        for (unsigned y = rng() % 16; y > 0; --y) co_await yield_now();
        hs[rng() % hs.size()].abort();
      }
      for (auto& h : hs) {
        try {
          co_await h;
        } catch (const cancelled&) {
        }
      }
    }(s, ops, inside, ok));
    CHECK(ok.load());
    CHECK(s.available_permits() == 5);
  }

  TEST_CASE("broadcast: every receiver sees every message in order, or learns exactly how many it missed") {
    const long n = test::scaled(100'000);
    auto [tx, rx] = broadcast::channel<long>(64);
    std::vector<broadcast::receiver<long>> rxs;
    auto rt = test::multi(2);
    for (int i = 0; i < 4; ++i) rxs.push_back(tx.subscribe());
    { auto drop = std::move(rx); }
    std::atomic<bool> ok{true};
    rt.block_on([](broadcast::sender<long> tx, std::vector<broadcast::receiver<long>>& rxs, long n, std::atomic<bool>& ok) -> task<void> {
      std::vector<join_handle<long>> hs;
      for (auto& r : rxs)
        hs.push_back(spawn([](broadcast::receiver<long>& rx, std::atomic<bool>& ok) -> task<long> {
          long expect = 0;
          for (;;) {
            try {
              std::optional<long> v = co_await rx.recv();
              if (!v) break;
              if (*v != expect) ok = false;
              expect = *v + 1;
            } catch (const broadcast::lagged& e) {
              expect += static_cast<long>(e.missed());
            }
          }
          co_return expect;
        }(r, ok)));
      auto producer = spawn([](broadcast::sender<long> tx_param, long n) -> task<void> {
        auto tx = std::move(tx_param);
        for (long i = 0; i < n; ++i) {
          tx.send(i);
          if (i % 16 == 0) co_await yield_now();
        }
      }(std::move(tx), n));
      co_await producer;
      for (auto& h : hs) {
        long end = co_await h;
        if (end != n) ok = false;  // received + missed accounts for every message
      }
    }(std::move(tx), rxs, n, ok));
    CHECK(ok.load());
  }
}
