// par::join: results of every kind, exceptions, deep nesting, joins inside parallel loops,
// the fallback fences.

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

TEST_SUITE("par.join") {
  TEST_CASE("join returns both results, from outside and inside the pool") {
    auto [a, b] = par::join([] { return 1; }, [] { return std::string("two"); });
    CHECK(a == 1);
    CHECK(b == "two");
    CHECK(fib(20) == fib_seq(20));
    par::pool p(3);
    CHECK(p.install([] { return fib(22); }) == fib_seq(22));
  }

  TEST_CASE("void sides, reference results") {
    int x = 0, y = 0;
    par::join([&] { x = 1; }, [&] { y = 2; });
    CHECK(x + y == 3);
    auto [l, r] = par::join([&] { x = 5; }, [&]() -> int& { return y; });
    (void)l;
    CHECK(&r == &y);
  }

  TEST_CASE("an exception from either side propagates after both sides finished") {
    std::atomic<int> done{0};
    auto throws_a = [&] {
      par::join(
          [&]() -> int { throw std::runtime_error("a"); },
          [&] {
            done++;
            return 2;
          });
    };
    CHECK_THROWS_WITH_AS(throws_a(), "a", std::runtime_error);
    CHECK(done == 1);
    auto both = [] { par::join([] { throw std::runtime_error("first"); }, [] { throw std::logic_error("second"); }); };
    CHECK_THROWS_WITH_AS(both(), "first", std::runtime_error);
    auto only_b = [] { par::join([] { return 1; }, []() -> int { throw std::invalid_argument("b"); }); };
    CHECK_THROWS_AS(only_b(), std::invalid_argument);
  }

  TEST_CASE("deep and wide nesting (stolen halves, waiting workers that steal)") {
    par::pool p(4);  // more workers than cores: steals and waits happen for real
    for (int round = 0; round < 5; ++round) CHECK(p.install([] { return fib(25); }) == fib_seq(25));
  }

  TEST_CASE("join inside parallel loops inside join") {
    std::atomic<std::uint64_t> total{0};
    par::join(
        [&] { par::for_each(par::range(0, 64).collect<std::vector>(), [&](int i) { total += fib(10 + i % 5); }); },
        [&] { total += fib(18); });
    std::uint64_t expect = fib_seq(18);
    for (int i = 0; i < 64; ++i) expect += fib_seq(10 + i % 5);
    CHECK(total == expect);
  }
}
