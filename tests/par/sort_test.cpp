// par::sort and par::stable_sort against std::sort on many sizes, types and distributions.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/counted.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

const std::size_t sizes[] = {0, 1, 2, 3, 7, 31, 47, 49, 97, 1009, 4099, 65537, 131'101};
const std::size_t large = 1'000'003;

template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, std::uint64_t range = 0) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  for (auto& x : v) {
    std::uint64_t r = range ? rng() % range : rng();
    if constexpr (std::is_floating_point_v<T>)
      x = static_cast<T>(static_cast<double>(static_cast<std::int64_t>(r)) / 1e6);
    else
      x = static_cast<T>(r);
  }
  return v;
}

template <class T>
void check_sorts_like_std(std::size_t n, std::uint64_t seed, std::uint64_t range = 0) {
  auto v = random_values<T>(n, seed, range);
  auto expect = v;
  std::sort(expect.begin(), expect.end());
  auto a = v;
  par::sort(a);
  CHECK(a == expect);
  auto b = v;
  par::stable_sort(b.begin(), b.end());
  CHECK(b == expect);
  auto c = v;
  par::sort(c, std::greater<>());
  CHECK(std::equal(c.begin(), c.end(), expect.rbegin(), expect.rend()));
}

struct rec {
  int key;
  int seq;
  bool operator==(const rec&) const = default;
};

}  // namespace

TEST_SUITE("par.sort") {
  TEST_CASE("integers of every width, random and with few distinct values") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      check_sorts_like_std<std::uint64_t>(n, n);
      check_sorts_like_std<std::int64_t>(n, n + 1);
      check_sorts_like_std<std::int32_t>(n, n + 2);
      check_sorts_like_std<std::uint16_t>(n, n + 3);
      check_sorts_like_std<std::int8_t>(n, n + 4);
      check_sorts_like_std<std::uint64_t>(n, n + 5, 3);         // three values
      check_sorts_like_std<std::uint64_t>(n, n + 6, 1 << 20);   // small values: top digits skipped
    }
    const auto n = static_cast<std::size_t>(test::scaled(large));
    check_sorts_like_std<std::uint64_t>(n, 1);
    check_sorts_like_std<std::int32_t>(n, 2);
    check_sorts_like_std<std::uint64_t>(n, 3, 1000);
  }

  TEST_CASE("skewed and presorted inputs") {
    const auto n = static_cast<std::size_t>(test::scaled(large));
    std::vector<std::uint64_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = i;  // sorted
    auto a = v;
    par::sort(a);
    CHECK(a == v);
    std::reverse(a.begin(), a.end());
    par::sort(a);
    CHECK(a == v);
    // one huge bucket (top byte constant for 90%), the rest spread
    std::mt19937_64 rng(3);
    for (auto& x : v) x = (rng() % 10 == 0) ? rng() : (0x42ull << 56) | (rng() >> 8);
    auto expect = v;
    std::sort(expect.begin(), expect.end());
    par::sort(v);
    CHECK(v == expect);
    std::vector<std::uint64_t> same(n, 7);
    par::sort(same);
    CHECK(std::all_of(same.begin(), same.end(), [](std::uint64_t x) { return x == 7; }));
  }

  TEST_CASE("floating point, including negatives, zeros and infinities") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      check_sorts_like_std<double>(n, n + 7);
      check_sorts_like_std<float>(n, n + 8);
    }
    check_sorts_like_std<double>(static_cast<std::size_t>(test::scaled(large)), 4);
    std::vector<double> v = {3.5, -0.0, std::numeric_limits<double>::infinity(), -1e300, 0.0, -std::numeric_limits<double>::infinity(), 2.0};
    v.resize(300, 1.0);
    auto expect = v;
    std::sort(expect.begin(), expect.end());
    par::sort(v);
    CHECK(std::is_sorted(v.begin(), v.end()));
    CHECK(v.front() == -std::numeric_limits<double>::infinity());
    CHECK(v.back() == std::numeric_limits<double>::infinity());
  }

  TEST_CASE("comparator sorts and stability") {
    std::vector<std::size_t> all(std::begin(sizes), std::end(sizes));
    all.push_back(static_cast<std::size_t>(test::scaled(large)));
    for (std::size_t n : all) {
      CAPTURE(n);
      std::mt19937 rng(static_cast<unsigned>(n));
      std::vector<rec> v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = {static_cast<int>(rng() % 100), static_cast<int>(i)};
      auto by_key = [](const rec& a, const rec& b) { return a.key < b.key; };
      auto expect = v;  // the stable order: by key, then by input position
      std::sort(expect.begin(), expect.end(), [](const rec& a, const rec& b) { return a.key != b.key ? a.key < b.key : a.seq < b.seq; });
      auto a = v;
      par::stable_sort(a, by_key);
      CHECK(a == expect);  // equal keys keep their input order
      auto b = v;
      par::sort(b, by_key);
      CHECK(std::is_sorted(b.begin(), b.end(), by_key));
      auto c = v;
      par::sort(c.begin(), c.end(), [](const rec& x, const rec& y) { return x.seq > y.seq; });
      CHECK(std::is_sorted(c.begin(), c.end(), [](const rec& x, const rec& y) { return x.seq > y.seq; }));
    }
  }

  TEST_CASE("strings (non-trivial moves) and no element lost or duplicated") {
    std::mt19937_64 rng(11);
    std::vector<std::string> v(200'000);
    for (auto& s : v) s = std::to_string(rng() % 50000) + std::string(rng() % 20, 'x');
    auto expect = v;
    std::sort(expect.begin(), expect.end());
    par::sort(v);
    CHECK(v == expect);
    test::counted::reset();
    {
      std::vector<test::counted> cs;
      for (int i = 0; i < 10000; ++i) cs.emplace_back(static_cast<int>(rng() % 1000));
      par::stable_sort(cs, [](const test::counted& a, const test::counted& b) { return a.value < b.value; });
      CHECK(std::is_sorted(cs.begin(), cs.end(), [](const test::counted& a, const test::counted& b) { return a.value < b.value; }));
    }
    CHECK(test::counted::alive() == 0);
  }

  TEST_CASE("a throwing comparator: the exception propagates, the range stays valid") {
    std::vector<std::string> v(100'000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::to_string(v.size() - i);
    std::atomic<int> calls{0};
    auto comp = [&](const std::string& a, const std::string& b) {
      if (++calls == 500'000) throw std::runtime_error("comparator");
      return a < b;
    };
    CHECK_THROWS_WITH_AS(par::sort(v, comp), "comparator", std::runtime_error);
    CHECK(v.size() == 100'000);
    for (auto& s : v) CHECK(s.size() < 100);  // valid (possibly moved-from) strings
  }

  TEST_CASE("sorting inside a one-worker pool and inside a task") {
    par::pool one(1);
    auto v = random_values<std::uint32_t>(300'000, 5);
    auto expect = v;
    std::sort(expect.begin(), expect.end());
    auto a = v;
    one.install([&] { par::sort(a); });
    CHECK(a == expect);
    auto rt = test::multi();
    auto b = v;
    rt.block_on([&]() -> task<void> {
      co_await par::run([&] { par::sort(b); });
    }());
    CHECK(b == expect);
  }
}
