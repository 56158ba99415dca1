#pragma once
// Helpers shared by the corio::par tests: fork-join fib and its sequential twin, the input
// sizes the algorithms are checked at, and reproducible random inputs.

#include <corio/runtime/par.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace corio::test {

/// fib(n) with a par::join at every level (no cutoff): the deepest nesting of joins.
inline std::uint64_t fib(std::uint64_t n) {
  if (n < 2) return n;
  auto [a, b] = par::join([&] { return fib(n - 1); }, [&] { return fib(n - 2); });
  return a + b;
}
inline std::uint64_t fib_seq(std::uint64_t n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

/// Empty, tiny, primes around the splitting thresholds, and large.
inline constexpr std::size_t par_sizes[] = {0, 1, 2, 3, 7, 31, 97, 1009, 4099, 65537, 1'000'003};

inline std::vector<std::uint64_t> random_vector(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = rng();
  return v;
}

}  // namespace corio::test
