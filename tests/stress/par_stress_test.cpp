// Stress: the fork-join pool under many external callers, pools of many sizes, nested loops
// with failures, pools created and destroyed while workers fall asleep; the blocking pool
// under job storms, abort storms and shutdown with a full queue. Sizes shrink under the
// sanitizers (CORIO_TEST_SCALE).

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/par.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

using test::fib;
using test::fib_seq;

}  // namespace

TEST_SUITE("stress.par") {
  TEST_CASE("many threads call into the default pool at once") {
    const int threads = 8;
    const int rounds = static_cast<int>(test::scaled(1000));
    std::atomic<int> wrong{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        std::mt19937_64 rng(static_cast<std::uint64_t>(t));
        for (int r = 0; r < rounds; ++r) {
          std::vector<std::uint32_t> v(rng() % 20000);
          for (auto& x : v) x = static_cast<std::uint32_t>(rng());
          std::uint64_t expect = std::accumulate(v.begin(), v.end(), std::uint64_t{0});
          if (par::iter(v).map([](std::uint32_t x) { return std::uint64_t(x); }).sum() != expect) wrong++;
          auto w = v;
          par::sort(w);
          if (!std::is_sorted(w.begin(), w.end())) wrong++;
          if (fib(12) != 144) wrong++;
        }
      });
    for (auto& t : ts) t.join();
    CHECK(wrong == 0);
  }

  TEST_CASE("pools of 1 to 8 workers, created and destroyed over and over") {
    const int rounds = static_cast<int>(test::scaled(400));
    for (int r = 0; r < rounds; ++r) {
      par::pool p(static_cast<unsigned>(r % 8 + 1));
      CHECK(p.install([] { return fib(18); }) == fib_seq(18));
      // leave it idle for a moment so workers go through their sleep path before destruction
      if (r % 4 == 0) CHECK(p.install([] { return 1; }) == 1);
    }
  }

  TEST_CASE("random nested loops with failures") {
    par::pool p(4);
    const int rounds = static_cast<int>(test::scaled(3000));
    std::mt19937_64 rng(7);
    for (int r = 0; r < rounds; ++r) {
      const std::size_t n = rng() % 5000 + 1;
      const std::size_t bad = rng() % (n * 4);  // fails in a quarter of the rounds
      std::atomic<int> active{0};
      auto run = [&] {
        return p.install([&] {
          return par::range(std::size_t{0}, n)
              .map([&](std::size_t i) {
                active++;
                std::uint64_t inner = par::range(std::size_t{0}, i % 50).map([&](std::size_t j) {
                  if (i * 50 + j == bad) {
                    active--;
                    throw std::runtime_error("bad");
                  }
                  return std::uint64_t(j);
                }).sum();
                active--;
                return inner;
              })
              .sum();
        });
      };
      std::uint64_t expect = 0;
      bool fails = false;
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < i % 50; ++j) {
          expect += j;
          fails = fails || i * 50 + j == bad;
        }
      if (fails) {
        CHECK_THROWS_AS(run(), std::runtime_error);
      } else {
        CHECK(run() == expect);
      }
      CHECK(active == 0);
    }
  }

  TEST_CASE("par::run from many tasks at once") {
    auto rt = test::multi(4);
    const int tasks = static_cast<int>(test::scaled(50'000));
    std::uint64_t total = rt.block_on([](int tasks) -> task<std::uint64_t> {
      std::vector<join_handle<std::uint64_t>> hs;
      for (int i = 0; i < tasks; ++i)
        hs.push_back(spawn([](int i) -> task<std::uint64_t> {
          co_return co_await par::run([i] { return par::range(0, i % 100).map([](int x) { return std::uint64_t(x); }).sum(); });
        }(i)));
      std::uint64_t s = 0;
      for (auto& h : hs) s += co_await h;
      co_return s;
    }(tasks));
    std::uint64_t expect = 0;
    for (int i = 0; i < tasks; ++i) expect += std::uint64_t(i % 100) * (i % 100 - (i % 100 ? 1 : 0)) / 2;
    CHECK(total == expect);
  }

  TEST_CASE("blocking: a storm of jobs, 16 awaited at a time, through a small pool") {
    auto rt = runtime::builder().worker_threads(2).max_blocking_threads(4).build();
    const long n = test::scaled(1'000'000);
    long long s = rt.block_on([](long n) -> task<long long> {
      std::vector<blocking_handle<long>> window;
      long long sum = 0;
      long next = 0;
      for (; next < 16 && next < n; ++next) window.push_back(spawn_blocking([v = next] { return v; }));
      for (std::size_t i = 0; i < window.size(); ++i) {
        sum += co_await window[i];
        if (next < n) window.push_back(spawn_blocking([v = next++] { return v; }));
      }
      co_return sum;
    }(n));
    CHECK(s == static_cast<long long>(n) * (n - 1) / 2);
    CHECK(rt.metrics().blocking_threads <= 4);
  }

  TEST_CASE("blocking: abort storms and aborted awaiting tasks") {
    auto rt = runtime::builder().worker_threads(2).max_blocking_threads(2).build();
    const int n = static_cast<int>(test::scaled(200'000));
    std::atomic<int> ran{0};
    std::vector<blocking_handle<int>> hs;
    for (int i = 0; i < n; ++i) hs.push_back(spawn_blocking(rt, [&ran, i] {
      ran++;
      return i;
    }));
    for (int i = 0; i < n; i += 2) hs[static_cast<std::size_t>(i)].abort();
    std::vector<join_handle<int>> waiters;
    for (int i = 1; i < n; i += 4)
      waiters.push_back(rt.spawn([](blocking_handle<int> h) -> task<int> { co_return co_await h; }(std::move(hs[static_cast<std::size_t>(i)]))));
    for (std::size_t i = 0; i < waiters.size(); i += 2) waiters[i].abort();
    int finished = rt.block_on([](std::vector<blocking_handle<int>>& hs, std::vector<join_handle<int>>& ws) -> task<int> {
      int ok = 0;
      for (auto& h : hs) {
        if (!h.valid()) continue;
        try {
          co_await h;
          ++ok;
        } catch (const cancelled&) {
        }
      }
      for (auto& w : ws) {
        try {
          co_await w;
          ++ok;
        } catch (const cancelled&) {
        }
      }
      co_return ok;
    }(hs, waiters));
    CHECK(finished > 0);
    CHECK(ran <= n);
  }

  TEST_CASE("blocking: shutdown with thousands of queued jobs") {
    const int rounds = static_cast<int>(test::scaled(200));
    for (int r = 0; r < rounds; ++r) {
      std::atomic<int> ran{0};
      std::vector<blocking_handle<void>> hs;
      {
        auto rt = runtime::builder().worker_threads(1).max_blocking_threads(2).build();
        for (int i = 0; i < 2000; ++i) hs.push_back(spawn_blocking(rt, [&ran] { ran++; }));
      }  // shutdown: queued jobs cancelled, running ones finished
      int finished = 0, cancelled_n = 0;
      for (auto& h : hs) {
        REQUIRE(h.is_finished());
        try {
          h.take_result();
          ++finished;
        } catch (const cancelled&) {
          ++cancelled_n;
        }
      }
      CHECK(finished == ran.load());
      CHECK(finished + cancelled_n == 2000);
    }
  }
}
