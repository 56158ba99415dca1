// par::pool: sizes, install, current_num_threads, pools calling into each other, the default pool.

#include <doctest/doctest.h>

#include <atomic>
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

  TEST_CASE("the default pool cannot be resized once started") {
    (void)par::default_pool();
    CHECK_THROWS_AS(par::set_default_threads(3), usage_error);
    CHECK_THROWS_AS(par::set_default_threads(5000), std::invalid_argument);
  }
}
