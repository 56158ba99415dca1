// par:: algorithms against their sequential counterparts on random inputs of many sizes;
// exceptions from the middle of a loop; nested loops.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "support/par.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

const auto& sizes = test::par_sizes;
using test::random_vector;

}  // namespace

TEST_SUITE("par.algorithm") {
  TEST_CASE("for_each and transform visit every element once") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n);
      std::vector<std::uint64_t> w = v;
      par::for_each(w, [](std::uint64_t& x) { x = x * 3 + 1; });
      std::vector<std::uint64_t> out(n);
      auto end = par::transform(v, out.begin(), [](std::uint64_t x) { return x * 3 + 1; });
      CHECK(end == out.end());
      bool ok = true;
      for (std::size_t i = 0; i < n; ++i) ok = ok && w[i] == v[i] * 3 + 1 && out[i] == w[i];
      CHECK(ok);
      std::vector<std::atomic<int>> hits(n);
      par::for_each(hits.begin(), hits.end(), [](std::atomic<int>& h) { h++; });
      CHECK(std::all_of(hits.begin(), hits.end(), [](const std::atomic<int>& h) { return h.load() == 1; }));
    }
  }

  TEST_CASE("reduce, transform_reduce, count_if") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n + 1);
      CHECK(par::reduce(v, std::uint64_t{5}) == std::accumulate(v.begin(), v.end(), std::uint64_t{5}));
      CHECK(par::transform_reduce(v, std::uint64_t{0}, std::bit_xor<>(), [](std::uint64_t x) { return x >> 3; }) ==
            std::transform_reduce(v.begin(), v.end(), std::uint64_t{0}, std::bit_xor<>(), [](std::uint64_t x) { return x >> 3; }));
      auto odd = [](std::uint64_t x) { return x % 2 == 1; };
      CHECK(par::count_if(v, odd) == static_cast<std::size_t>(std::count_if(v.begin(), v.end(), odd)));
    }
  }

  TEST_CASE("reduce keeps the order of a non-commutative operation") {
    std::vector<std::string> words;
    for (int i = 0; i < 5000; ++i) words.push_back(std::to_string(i % 10));
    std::string expect = std::accumulate(words.begin(), words.end(), std::string(">"));
    CHECK(par::reduce(words, std::string(">")) == expect);
  }

  TEST_CASE("searches: find_any, any_of, all_of, none_of") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n + 2);
      if (n) {
        std::uint64_t target = v[n / 2];
        auto it = par::find_any(v, [&](std::uint64_t x) { return x == target; });
        REQUIRE(it != v.end());
        CHECK(*it == target);
        CHECK(par::any_of(v, [&](std::uint64_t x) { return x == target; }));
      }
      CHECK(par::find_any(v, [](std::uint64_t) { return false; }) == v.end());
      CHECK(!par::any_of(v, [](std::uint64_t) { return false; }));
      CHECK(par::all_of(v, [](std::uint64_t) { return true; }));
      CHECK(par::none_of(v, [](std::uint64_t) { return false; }));
      CHECK(par::all_of(v, [](std::uint64_t x) { return x != 12345; }) == std::all_of(v.begin(), v.end(), [](std::uint64_t x) { return x != 12345; }));
    }
  }

  TEST_CASE("a search stops the other pieces early") {
    std::vector<int> v(1'000'000, 0);
    std::atomic<std::size_t> calls{0};
    CHECK(par::any_of(v, [&](int) { return ++calls > 0; }));  // every element matches
    CHECK(calls < v.size() / 10);
  }

  TEST_CASE("min, max, min_element, max_element (the first of equal ones)") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n + 3);
      for (auto& x : v) x %= 1000;  // many ties
      if (!n) {
        CHECK(!par::min(v));
        CHECK(par::max_element(v) == v.end());
        continue;
      }
      CHECK(*par::min(v) == *std::min_element(v.begin(), v.end()));
      CHECK(*par::max(v) == *std::max_element(v.begin(), v.end()));
      CHECK(par::min_element(v) == std::min_element(v.begin(), v.end()));
      CHECK(par::max_element(v) == std::max_element(v.begin(), v.end()));
      CHECK(par::max_element(v, std::greater<>()) == std::max_element(v.begin(), v.end(), std::greater<>()));
    }
  }

  TEST_CASE("an exception in the middle of a loop: rethrown after every piece returned") {
    std::vector<int> v(1'000'000, 1);
    std::atomic<int> active{0};
    std::atomic<std::size_t> calls{0};
    auto body = [&](int& x) {
      active++;
      calls++;
      if (&x == &v[v.size() / 2]) {
        active--;
        throw std::runtime_error("middle");
      }
      x = 2;
      active--;
    };
    CHECK_THROWS_WITH_AS(par::for_each(v, body), "middle", std::runtime_error);
    CHECK(active == 0);  // nothing still runs
  }

  TEST_CASE("after a failure no new pieces start; the first exception wins") {
    std::vector<int> v(1'000'000, 0);
    std::atomic<std::size_t> calls{0};
    auto all_throw = [&] {
      par::for_each(v, [&](int) {
        calls++;
        throw std::out_of_range("each");
      });
    };
    CHECK_THROWS_AS(all_throw(), std::out_of_range);
    CHECK(calls < 1000);  // one per piece, not one per element
    auto reduce_throws = [&] {
      return par::transform_reduce(v, 0, std::plus<>(), [](int) -> int { throw std::logic_error("tr"); });
    };
    CHECK_THROWS_AS(reduce_throws(), std::logic_error);
    auto combine_throws = [&] {
      return par::reduce(v, 0, [](int, int) -> int { throw std::domain_error("op"); });
    };
    CHECK_THROWS_AS(combine_throws(), std::domain_error);
    CHECK_THROWS_AS(par::count_if(v, [](int) -> bool { throw std::length_error("pred"); }), std::length_error);
  }

  TEST_CASE("nested parallel loops") {
    std::vector<std::vector<std::uint64_t>> rows(64);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = random_vector(5000 + i * 101, i);
    std::vector<std::uint64_t> sums(rows.size());
    par::transform(rows, sums.begin(), [](const std::vector<std::uint64_t>& r) {
      auto copy = r;
      par::sort(copy);  // parallel sort inside a parallel loop
      return par::reduce(copy, std::uint64_t{0});
    });
    for (std::size_t i = 0; i < rows.size(); ++i) CHECK(sums[i] == std::accumulate(rows[i].begin(), rows[i].end(), std::uint64_t{0}));
  }

  TEST_CASE("a one-worker pool runs everything sequentially") {
    par::pool one(1);
    auto v = random_vector(100'000, 9);
    auto s = one.install([&] { return par::reduce(v, std::uint64_t{0}); });
    CHECK(s == std::accumulate(v.begin(), v.end(), std::uint64_t{0}));
  }
}
