// par:: pipelines: sources, map/filter, every terminal, order of collect, exceptions.

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <list>
#include <memory>
#include <new>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/par.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

const auto& sizes = test::par_sizes;
using test::random_vector;

}  // namespace

TEST_SUITE("par.iter") {
  TEST_CASE("map / filter / sum / count / reduce against the sequential loop") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n);
      auto sq = [](std::uint64_t x) { return x * x; };
      auto even = [](std::uint64_t x) { return x % 2 == 0; };
      std::uint64_t sum = 0, fsum = 0, evens = 0;
      for (auto x : v) {
        sum += sq(x);
        if (even(sq(x))) fsum += sq(x), ++evens;
      }
      CHECK(par::iter(v).map(sq).sum() == sum);
      CHECK(par::iter(v).map(sq).filter(even).sum() == fsum);
      CHECK(par::iter(v).map(sq).filter(even).count() == evens);
      CHECK(par::iter(v).count() == n);
      CHECK(par::iter(v).size() == n);
      CHECK(par::iter(v).reduce(std::uint64_t{0}, [](std::uint64_t a, std::uint64_t b) { return a ^ b; }) ==
            std::accumulate(v.begin(), v.end(), std::uint64_t{0}, [](std::uint64_t a, std::uint64_t b) { return a ^ b; }));
      CHECK(par::iter(v).reduce([] { return std::uint64_t{0}; }, std::plus<>()) ==
            std::accumulate(v.begin(), v.end(), std::uint64_t{0}));
    }
  }

  TEST_CASE("collect keeps the source order, with and without filters") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n + 1);
      auto f = [](std::uint64_t x) { return x ^ 0xabcdef; };
      auto keep = [](std::uint64_t x) { return x % 3 != 0; };
      std::vector<std::uint64_t> mapped, filtered;
      for (auto x : v) {
        mapped.push_back(f(x));
        if (keep(f(x))) filtered.push_back(f(x));
      }
      CHECK(par::iter(v).map(f).collect<std::vector>() == mapped);
      auto buf = par::iter(v).map(f).collect<par::buffer>();
      CHECK(std::vector<std::uint64_t>(buf.begin(), buf.end()) == mapped);
      CHECK(par::iter(v).map(f).filter(keep).collect<std::vector>() == filtered);
      auto fbuf = par::iter(v).map(f).filter(keep).collect<par::buffer>();
      CHECK(std::vector<std::uint64_t>(fbuf.begin(), fbuf.end()) == filtered);
      auto lst = par::iter(v).map(f).collect<std::list>();
      CHECK(std::vector<std::uint64_t>(lst.begin(), lst.end()) == mapped);
      std::vector<std::uint64_t> into(n);
      par::iter(v).map(f).collect_into(into.begin());
      CHECK(into == mapped);
    }
  }

  TEST_CASE("collect of non-trivial types, and items that are references") {
    std::vector<std::string> words;
    // fmt, not operator+: g++-12 -O3 gives a false -Wrestrict on string concatenation (GCC PR 105329)
    for (int i = 0; i < 20000; ++i) words.push_back(fmt::format("w{}", i));
    auto upper = par::iter(words).map([](const std::string& s) { return fmt::format("{}!", s); }).collect<std::vector>();
    REQUIRE(upper.size() == words.size());
    CHECK(upper[12345] == "w12345!");
    auto copies = par::iter(words).filter([](const std::string& s) { return s.back() == '7'; }).collect<std::vector>();
    CHECK(copies.size() == 2000);
    CHECK(copies.front() == "w7");
    auto owned = par::range(0, 1000).map([](int i) { return std::make_unique<int>(i); }).collect<std::vector>();
    CHECK(*owned[999] == 999);
    auto bufs = par::range(0, 1000).map([](int i) { return std::to_string(i); }).collect<par::buffer>();
    CHECK(bufs[500] == "500");
  }

  TEST_CASE("range, iter_mut, chunks, chunks_mut") {
    CHECK(par::range(0, 0).count() == 0);
    CHECK(par::range(5, 2).count() == 0);
    CHECK(par::range(-5, 5).sum() == -5);
    CHECK(par::range(std::uint64_t{0}, std::uint64_t{1'000'000}).sum() == 999'999ull * 1'000'000 / 2);
    std::vector<int> v(100'001, 1);
    par::iter_mut(v).for_each([](int& x) { x += 1; });
    CHECK(std::all_of(v.begin(), v.end(), [](int x) { return x == 2; }));
    auto sizes_of = par::chunks(v, 1000).map([](std::span<const int> c) { return c.size(); }).collect<std::vector>();
    CHECK(sizes_of.size() == 101);
    CHECK(sizes_of.back() == 1);
    CHECK(par::chunks(v, 1000).map([](std::span<const int> c) { return std::accumulate(c.begin(), c.end(), 0); }).sum() ==
          200'002);
    par::chunks_mut(v, 333).for_each([](std::span<int> c) {
      for (int& x : c) x = static_cast<int>(c.size());
    });
    CHECK(v.back() == static_cast<int>(100'001 % 333));
    CHECK_THROWS_AS(par::chunks(v, 0), std::invalid_argument);
    std::vector<int> empty;
    CHECK(par::chunks(empty, 4).count() == 0);
  }

  TEST_CASE("min, max, find_any, any, all") {
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n + 2);
      if (!n) {
        CHECK(!par::iter(v).min());
        CHECK(!par::iter(v).find_any([](std::uint64_t) { return true; }));
        continue;
      }
      CHECK(*par::iter(v).min() == *std::min_element(v.begin(), v.end()));
      CHECK(*par::iter(v).max() == *std::max_element(v.begin(), v.end()));
      CHECK(*par::iter(v).map([](std::uint64_t x) { return x % 1000; }).max(std::greater<>()) ==
            *std::min_element(v.begin(), v.end(), [](auto a, auto b) { return a % 1000 < b % 1000; }) % 1000);
      std::uint64_t t = v[n - 1];
      CHECK(*par::iter(v).find_any([&](std::uint64_t x) { return x == t; }) == t);
      CHECK(par::iter(v).any([&](std::uint64_t x) { return x == t; }));
      CHECK(!par::iter(v).filter([](std::uint64_t) { return false; }).any([](std::uint64_t) { return true; }));
      CHECK(par::iter(v).all([](std::uint64_t x) { return x != 42; }) == std::none_of(v.begin(), v.end(), [](auto x) { return x == 42; }));
    }
  }

  TEST_CASE("for_each visits each item once") {
    std::vector<std::atomic<int>> seen(50'000);
    par::range(std::size_t{0}, seen.size()).filter([](std::size_t i) { return i % 2 == 0; }).for_each([&](std::size_t i) {
      seen[i]++;
    });
    for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i].load() == (i % 2 == 0 ? 1 : 0));
  }

  TEST_CASE("exceptions from map, filter, reduce and collect propagate; nothing leaks") {
    std::vector<int> v(200'000, 1);
    auto boom = [](int x) -> int {
      if (x == 1) throw std::runtime_error("map");
      return x;
    };
    CHECK_THROWS_WITH_AS(par::iter(v).map(boom).sum(), "map", std::runtime_error);
    CHECK_THROWS_AS(par::iter(v).filter([](int) -> bool { throw std::logic_error("filter"); }).count(), std::logic_error);
    CHECK_THROWS_AS(par::iter(v).map(boom).collect<std::vector>(), std::runtime_error);
    CHECK_THROWS_AS(par::iter(v).map(boom).collect<par::buffer>(), std::runtime_error);
    test::counted::reset();
    auto throwing_counted = [](int i) {
      if (i == 150'000) throw std::runtime_error("late");
      return test::counted(i);
    };
    CHECK_THROWS_AS(par::range(0, 200'000).map(throwing_counted).collect<std::vector>(), std::runtime_error);
    CHECK_THROWS_AS(par::range(0, 200'000).map(throwing_counted).collect<par::buffer>(), std::runtime_error);
    CHECK(test::counted::alive() == 0);
  }

  TEST_CASE("pipelines nest inside pipelines") {
    auto total = par::range(0, 200)
                     .map([](int i) { return par::range(0, i).map([](int j) { return std::uint64_t(j); }).sum(); })
                     .sum();
    std::uint64_t expect = 0;
    for (int i = 0; i < 200; ++i) expect += std::uint64_t(i) * (i - 1) / 2;
    CHECK(total == expect);
  }

  TEST_CASE("reduce keeps source order for an associative, non-commutative op on a scalar") {
    // "the first non-zero item" (identity 0): any reordering of items shows.
    auto first_nonzero = [](std::uint64_t a, std::uint64_t b) { return a != 0 ? a : b; };
    auto last_nonzero = [](std::uint64_t a, std::uint64_t b) { return b != 0 ? b : a; };
    for (std::size_t n : sizes) {
      CAPTURE(n);
      auto v = random_vector(n, n + 7);
      for (auto& x : v) x = x % 3 == 0 ? x : 0;  // about two thirds zeros
      std::uint64_t first = 0, last = 0;
      for (auto x : v) {
        if (!first) first = x;
        if (x) last = x;
      }
      CHECK(par::iter(v).reduce(std::uint64_t{0}, first_nonzero) == first);
      CHECK(par::iter(v).reduce(std::uint64_t{0}, last_nonzero) == last);
      // Through a map and a filter too (the fold's chains see a stage, not the source).
      auto odd = [](std::uint64_t x) { return x % 2 == 1; };
      std::uint64_t first_odd = 0;
      for (auto x : v)
        if (!first_odd && x && odd(x)) first_odd = x;
      CHECK(par::iter(v).filter(odd).reduce(std::uint64_t{0}, first_nonzero) == first_odd);
    }
  }

  TEST_CASE("both compilations of a piece's fold agree with the sequential loop, order kept") {
    // reduce picks one copy per processor (detail/fold.hpp); run each one this machine has.
    struct folder {
      const std::vector<std::uint64_t>& v;
      bool ordered;  // "first non-zero" (order shows) or a wrapping sum of squares (vectorises)
      std::uint64_t identity() const { return 0; }
      void step(std::uint64_t& acc, std::size_t i) const { acc = combine(acc, ordered ? v[i] : v[i] * v[i]); }
      std::uint64_t combine(std::uint64_t a, std::uint64_t b) const { return ordered ? (a != 0 ? a : b) : a + b; }
    };
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65},
                          std::size_t{1001}, std::size_t{100'003}}) {
      CAPTURE(n);
      auto v = random_vector(n, n + 11);
      for (std::size_t i = 0; i < n / 2; ++i) v[i] = 0;  // the first non-zero item is in the second half
      for (bool ordered : {false, true}) {
        CAPTURE(ordered);
        const folder fo{v, ordered};
        std::uint64_t expect = 0;
        for (std::size_t i = 0; i < n; ++i) fo.step(expect, i);
        const std::size_t lo = n / 3;  // a piece that does not start at 0
        std::uint64_t expect_piece = 0;
        for (std::size_t i = lo; i < n; ++i) fo.step(expect_piece, i);
        CHECK(par::detail::fold_chains_baseline(fo, std::uint64_t{0}, 0, n) == expect);
        CHECK(par::detail::fold_chains_baseline(fo, std::uint64_t{0}, lo, n) == expect_piece);
        CHECK(par::detail::fold_chains(fo, std::uint64_t{0}, 0, n) == expect);
#if CORIO_PAR_FOLD_AVX2
        if (par::detail::cpu_has_avx2()) {
          CHECK(par::detail::fold_chains_avx2(fo, std::uint64_t{0}, 0, n) == expect);
          CHECK(par::detail::fold_chains_avx2(fo, std::uint64_t{0}, lo, n) == expect_piece);
        }
#endif
      }
    }
  }

  TEST_CASE("the AVX2 copy of a fold computes floating-point items as the baseline does") {
    // Each term v*v - sq is exactly 0 when v*v is rounded before the subtraction, and the
    // rounding error of v*v (almost never 0) when it is fused into one FMA: a copy that
    // contracted (AVX-512 would, fold.hpp) would sum to non-zero.
    struct folder {
      const std::vector<double>& v;
      const std::vector<double>& sq;
      double identity() const { return 0.0; }
      void step(double& acc, std::size_t i) const { acc += v[i] * v[i] - sq[i]; }
      double combine(double a, double b) const { return a + b; }
    };
    std::vector<double> v(10'007), sq(v.size());
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> d(1.0, 2.0);
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i] = d(rng);
      volatile double p = v[i] * v[i];  // rounded, stored
      sq[i] = p;
    }
    const folder fo{v, sq};
    CHECK(par::detail::fold_chains_baseline(fo, 0.0, 0, v.size()) == 0.0);
    CHECK(par::detail::fold_chains(fo, 0.0, 0, v.size()) == 0.0);
#if CORIO_PAR_FOLD_AVX2
    if (par::detail::cpu_has_avx2()) CHECK(par::detail::fold_chains_avx2(fo, 0.0, 0, v.size()) == 0.0);
#endif
  }

  TEST_CASE("one slow chunk does not fix the chunk size for the rest of the loop") {
    // The first chunk is made slow (as a preempted one, or one paying a one-time cost); the
    // chunks after it are as cheap as can be, so their size must keep doubling: a loop stuck
    // at its first size would fold the million items one by one.
    struct folder {
      std::atomic<bool>& first;
      std::atomic<std::size_t>& calls;
      std::size_t min_split = 1;
      std::size_t identity() const { return 0; }
      std::size_t fold(std::size_t acc, std::size_t lo, std::size_t hi) {
        if (first.exchange(false)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        calls.fetch_add(1, std::memory_order_relaxed);
        return acc + (hi - lo);
      }
      std::size_t combine(std::size_t l, std::size_t r) const { return l + r; }
    };
    std::atomic<bool> first{true};
    std::atomic<std::size_t> calls{0};
    folder fo{first, calls};
    const std::size_t n = 1'000'000;
    CHECK(par::detail::fold_range(fo, n) == n);
    CHECK(calls.load() < 10'000);
  }

  TEST_CASE("a large buffer is its own 2 MiB-aligned mapping, marked for huge pages") {
    const std::size_t n = (par::detail::bulk_min_bytes + 12345) / sizeof(std::uint64_t);
    auto out = par::range(std::uint64_t{0}, std::uint64_t{n}).map([](std::uint64_t i) { return i * 3; }).collect<par::buffer>();
    REQUIRE(out.size() == n);
    CHECK(reinterpret_cast<std::uintptr_t>(out.data()) % (std::size_t{2} << 20) == 0);
    bool all = true;
    for (std::size_t i = 0; i < n; ++i) all = all && out[i] == i * 3;
    CHECK(all);
    // /proc/self/smaps flags a MADV_HUGEPAGE mapping "hg" (on kernels built with THP).
    if (std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) {
      std::ifstream smaps("/proc/self/smaps");
      std::string line, flags;
      const auto want = reinterpret_cast<std::uintptr_t>(out.data());
      bool in_mapping = false;
      while (std::getline(smaps, line)) {
        std::uintptr_t lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2)  // a mapping's first line
          in_mapping = lo <= want && want < hi;
        if (in_mapping && line.rfind("VmFlags:", 0) == 0) {
          flags = line;
          break;
        }
      }
      CAPTURE(flags);
      CHECK(flags.find(" hg") != std::string::npos);
    }
    // Small buffers stay on the ordinary heap, large non-trivial ones are bulk as well.
    auto small = par::range(0, 1000).map([](int i) { return i; }).collect<par::buffer>();
    CHECK(small.size() == 1000);
    auto strings = par::range(0, 300'000).map([](int i) { return std::to_string(i); }).collect<par::buffer>();
    REQUIRE(strings.size() == 300'000);
    CHECK(strings[299'999] == "299999");
  }

  TEST_CASE("bulk storage: impossible sizes are std::bad_alloc, nothing is mapped") {
    CHECK_THROWS_AS(par::buffer<std::uint64_t>(std::size_t(-1) / 4), std::bad_array_new_length);
    CHECK_THROWS_AS(par::detail::allocate_bulk(std::size_t(-1) / 2 + 1, 64), std::bad_alloc);
    // 128 TiB: all of a process's address space on x86-64 (47 bits), so mmap must refuse it.
    CHECK_THROWS_AS(par::detail::allocate_bulk(std::size_t{1} << 47, 64), std::bad_alloc);
    void* p = par::detail::allocate_bulk(par::detail::bulk_min_bytes, 4096);
    std::memset(p, 1, par::detail::bulk_min_bytes);
    par::detail::deallocate_bulk(p, par::detail::bulk_min_bytes, 4096);
    par::detail::deallocate_bulk(nullptr, par::detail::bulk_min_bytes, 4096);  // a no-op
  }

  TEST_CASE("buffer basics") {
    par::buffer<int> b(5);
    CHECK(b.size() == 5);
    CHECK(b[4] == 0);
    par::buffer<int> c = std::move(b);
    CHECK(b.empty());
    CHECK(c.size() == 5);
    std::span<int> s = c;
    CHECK(s.size() == 5);
    par::buffer<std::string> e;
    CHECK(e.data() == nullptr);
  }
}
