// Stress: a million tasks, a million-deep chain, spawning from many threads, abort storms,
// shutdown with a million pending tasks, a million timers over 30 days of paused time.
// Sizes shrink under the sanitizers (CORIO_TEST_SCALE).

#include <doctest/doctest.h>
#include <corio/sync/notify.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

task<long> identity(long i) { co_return i; }

void chain(long depth, long last, notify* done, std::atomic<long>* reached) {
  if (depth == last) {
    reached->store(depth);
    done->notify_one();
    return;
  }
  spawn([](long d, long l, notify* n, std::atomic<long>* r) -> task<void> {
    chain(d + 1, l, n, r);
    co_return;
  }(depth, last, done, reached))
      .detach();
}

task<long> awaiting_chain(long depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await spawn(awaiting_chain(depth - 1));
}

}  // namespace

TEST_SUITE("stress") {
  TEST_CASE("a million spawned tasks, awaited in spawn order") {
    auto rt = test::multi(2);
    const long n = test::scaled(1'000'000);
    long sum = rt.block_on([](long n) -> task<long> {
      std::vector<join_handle<long>> hs;
      hs.reserve(static_cast<std::size_t>(n));
      for (long i = 0; i < n; ++i) hs.push_back(spawn(identity(i)));
      long s = 0;
      for (auto& h : hs) s += co_await h;
      co_return s;
    }(n));
    CHECK(sum == n * (n - 1) / 2);
    CHECK(rt.metrics().tasks_alive == 0);
  }

  TEST_CASE("chained spawn a million deep: each task spawns the next") {
    const long d = test::scaled(1'000'000);
    notify done;
    std::atomic<long> reached{0};
    auto rt = test::multi(2);
    rt.block_on([&]() -> task<void> {
      chain(1, d, &done, &reached);
      co_await done.notified();
    }());
    CHECK(reached.load() == d);
  }

  TEST_CASE("a chain of tasks each awaiting the next's handle, 100k deep") {
    auto rt = test::multi(2);
    const long d = test::scaled(100'000);
    CHECK(rt.block_on(awaiting_chain(d)) == d);
  }

  TEST_CASE("many threads spawn into the runtime at once") {
    auto rt = test::multi(2);
    const int threads = 8;
    const long per = test::scaled(100'000);
    std::atomic<long> sum{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        for (long i = 0; i < per; ++i)
          rt.spawn([](std::atomic<long>& s, long v) -> task<void> {
              s.fetch_add(v);
              co_return;
            }(sum, i))
              .detach();
      });
    for (auto& t : ts) t.join();
    // Wait for the event itself (every task done), with a generous bound.
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (rt.metrics().tasks_alive != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    CHECK(rt.metrics().tasks_alive == 0);
    CHECK(sum.load() == threads * per * (per - 1) / 2);
  }

  TEST_CASE("abort storms while tasks are mid-await") {
    test::counted::reset();
    {
      const int n = static_cast<int>(test::scaled(20'000));
      notify wake;
      auto rt = test::multi(2);
      rt.block_on([&]() -> task<void> {
        std::vector<join_handle<void>> hs;
        std::mt19937 rng(7);
        for (int i = 0; i < n; ++i) {
          switch (i % 4) {
            case 0:
              hs.push_back(spawn([](test::counted c, notify& w) -> task<void> {
                (void)c;
                for (;;) co_await w.notified();
              }(test::counted(i), wake)));
              break;
            case 1:
              hs.push_back(spawn([](test::counted c) -> task<void> {
                (void)c;
                for (;;) co_await sleep(std::chrono::milliseconds(c.value % 7));
              }(test::counted(i))));
              break;
            case 2:
              hs.push_back(spawn([](test::counted c) -> task<void> {
                (void)c;
                for (;;) co_await yield_now();
              }(test::counted(i))));
              break;
            default:
              hs.push_back(spawn([](test::counted c) -> task<void> {
                std::vector<task<void>> kids;
                for (int k = 0; k < 2; ++k) kids.push_back([]() -> task<void> { co_await sleep(1h); }());
                (void)c;
                co_await join_all(std::move(kids));
              }(test::counted(i))));
          }
          if (i % 64 == 0) {
            wake.notify_all();
            co_await yield_now();
          }
        }
        std::shuffle(hs.begin(), hs.end(), rng);
        for (std::size_t i = 0; i < hs.size(); ++i) {
          hs[i].abort();
          if (i % 16 == 0) {
            wake.notify_one();
            co_await yield_now();
          }
        }
        for (auto& h : hs) CHECK_THROWS_AS(co_await h, cancelled);
      }());
      CHECK(rt.metrics().tasks_alive == 0);
    }
    CHECK(test::counted::alive() == 0);
  }

  TEST_CASE("shutdown with a million pending tasks destroys every frame in bounded time") {
    test::counted::reset();
    const long n = test::scaled(1'000'000);
    notify never;
    auto start = std::chrono::steady_clock::now();
    {
      auto rt = test::multi(2);
      rt.block_on([&]() -> task<void> {
        for (long i = 0; i < n; ++i)
          spawn([](test::counted c, notify& nv) -> task<void> {
            (void)c;
            co_await nv.notified();
          }(test::counted(static_cast<int>(i)), never))
              .detach();
        co_return;
      }());
    }
    CHECK(test::counted::alive() == 0);
    CHECK(std::chrono::steady_clock::now() - start < 120s);
  }

  TEST_CASE("a million timers over 30 days of paused time: each fires once, none early, none late") {
    auto rt = test::paused();
    const long n = test::scaled(1'000'000);
    std::atomic<long> fired{0}, early{0}, late{0};
    rt.block_on([&]() -> task<void> {
      std::mt19937_64 rng(11);
      const long span_ms = 30L * 24 * 3600 * 1000;
      auto t0 = now();
      for (long i = 0; i < n; ++i) {
        auto at = t0 + std::chrono::milliseconds(static_cast<long>(rng() % static_cast<std::uint64_t>(span_ms)));
        spawn([](clock::time_point at, std::atomic<long>& f, std::atomic<long>& e, std::atomic<long>& l) -> task<void> {
          co_await sleep_until(at);
          auto t = now();
          if (t < at) ++e;
          if (t - at > 1ms) ++l;  // paused time: lateness is at most the 1 ms rounding
          ++f;
        }(at, fired, early, late))
            .detach();
      }
      co_await sleep(std::chrono::milliseconds(span_ms + 1));
    }());
    CHECK(fired.load() == n);
    CHECK(early.load() == 0);
    CHECK(late.load() == 0);
  }
}
