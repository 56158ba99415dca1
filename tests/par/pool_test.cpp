// par::pool: sizes, install, current_num_threads, pools calling into each other, the default pool.

#include <doctest/doctest.h>
#include <pthread.h>
#include <sched.h>

#include <corio/runtime/detail/affinity.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/par.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

using test::fib;
using test::fib_seq;

/// The CPUs the calling thread may run on.
std::vector<int> this_thread_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  REQUIRE(pthread_getaffinity_np(pthread_self(), sizeof set, &set) == 0);
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

}  // namespace

TEST_SUITE("par.pool") {
  TEST_CASE("sizes, install, current_num_threads") {
    par::pool one(1), three(3);
    CHECK(one.num_threads() == 1);
    CHECK(three.num_threads() == 3);
    CHECK(par::pool(0).num_threads() == std::max(1u, std::thread::hardware_concurrency()));
    CHECK_THROWS_AS(par::pool(5000), std::invalid_argument);
    CHECK(three.install([] { return par::current_num_threads(); }) == 3u);
    CHECK(one.install([] { return fib(15); }) == fib_seq(15));  // joins on one worker: no deadlock
    CHECK(!par::on_worker());
    CHECK(three.install([] { return par::on_worker(); }));
    CHECK_THROWS_WITH_AS(three.install([]() -> int { throw std::runtime_error("in pool"); }), "in pool",
                         std::runtime_error);
  }

  TEST_CASE("one pool's worker calling into another pool (and back) does not deadlock") {
    par::pool a(2), b(2);
    std::uint64_t r = a.install([&] {
      return par::range(0, 8)
          .map([&](int i) { return b.install([&] { return a.install([&] { return fib(12 + i % 3); }); }); })
          .sum();
    });
    std::uint64_t expect = 0;
    for (int i = 0; i < 8; ++i) expect += fib_seq(12 + i % 3);
    CHECK(r == expect);
  }

  TEST_CASE("the default pool cannot be resized or re-placed once started") {
    (void)par::default_pool();
    CHECK_THROWS_AS(par::set_default_threads(3), usage_error);
    CHECK_THROWS_AS(par::set_default_threads(5000), std::invalid_argument);
    CHECK_THROWS_WITH_AS(par::set_default_placement(par::placement::any),
                         "corio::par::set_default_placement: the default pool has already started", usage_error);
    CHECK_THROWS_WITH_AS(par::set_default_placement(static_cast<par::placement>(7)),
                         "corio::par::set_default_placement: 7 is not a placement", std::invalid_argument);
  }

  TEST_CASE("placement: spread pins one worker per CPU when they fit, any leaves them free") {
    const std::vector<int> cpus = corio::detail::process_cpus();
    REQUIRE(!cpus.empty());
    // The CPU sets of all n workers of `p`, gathered while all n run at once (each job waits,
    // bounded, for the others, so no worker can take two of them).
    auto worker_cpus = [](par::pool& p) {
      const unsigned n = p.num_threads();
      std::vector<std::vector<int>> sets(n);
      std::atomic<unsigned> running{0};
      p.install([&] {
        par::scope([&](par::scope_handle& s) {
          for (unsigned k = 0; k < n; ++k)
            s.spawn([&, k] {
              sets[k] = this_thread_cpus();
              running.fetch_add(1);
              const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
              while (running.load() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
            });
        });
      });
      CHECK(running.load() == n);
      return sets;
    };

    if (cpus.size() >= 2) {
      const unsigned n = static_cast<unsigned>(std::min<std::size_t>(cpus.size(), 4));
      par::pool spread(n);  // the default placement
      auto sets = worker_cpus(spread);
      std::vector<int> got;
      for (auto& set : sets) {
        CHECK(set.size() == 1);
        if (set.size() == 1) got.push_back(set[0]);
      }
      std::sort(got.begin(), got.end());
      CHECK(got == std::vector<int>(cpus.begin(), cpus.begin() + n));
    }
    par::pool any(2, par::placement::any);
    for (auto& set : worker_cpus(any)) CHECK(set == cpus);
    // More workers than CPUs: nobody is pinned.
    par::pool crowded(static_cast<unsigned>(cpus.size()) + 1);
    for (auto& set : worker_cpus(crowded)) CHECK(set == cpus);
  }

  TEST_CASE("threads corio starts from a pinned worker take back the process's CPUs") {
    const std::vector<int> cpus = corio::detail::process_cpus();
    if (cpus.size() < 2) return;  // nothing is pinned with one CPU
    par::pool spread(2);
    spread.install([&] {
      REQUIRE(this_thread_cpus().size() == 1);  // on a pinned worker
      // A pool started here: its workers do not inherit the pin.
      par::pool inner(2, par::placement::any);
      std::vector<std::vector<int>> sets = inner.install([] {
        auto mine = this_thread_cpus();
        auto [a, b] = par::join([] { return this_thread_cpus(); }, [] { return this_thread_cpus(); });
        return std::vector<std::vector<int>>{mine, a, b};
      });
      for (auto& set : sets) CHECK(set == cpus);
      // A runtime started here: its blocking-pool threads do not either. (Its workers still
      // do: see runtime/detail/affinity.hpp.)
      auto rt = runtime::builder().worker_threads(2).build();
      auto blocking_set = rt.block_on([]() -> task<std::vector<int>> {
        co_return co_await spawn_blocking([] { return this_thread_cpus(); });
      }());
      CHECK(blocking_set == cpus);
    });
  }
}
