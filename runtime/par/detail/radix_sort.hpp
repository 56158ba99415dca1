#pragma once
// Parallel radix sort of arithmetic values (par::sort of integers and floating point).
//
// Values are mapped to unsigned keys that order the same way (flip the sign bit of signed
// integers; for floating point flip every bit of negatives and the sign bit of the rest), then
// sorted by 8-bit digits, most significant first, until a part is small:
//
//   * MSD step (parts of more than 2^17 keys): count the digit just below the bits the part's
//     keys are known to share, and at the same time the AND and OR of all keys; if every key
//     has the same digit, restart at the top digit that actually varies (so small values or a
//     narrow range cost no passes). A prefix sum gives each digit its place, and the keys are
//     scattered to the scratch array — stable. Each of the 256 buckets is then sorted on its
//     own, with the array's part as its scratch. Large parts do this in parallel: blocks count
//     and scatter concurrently (each block has its own offsets) and buckets are sorted
//     concurrently.
//   * LSD (parts of at most 2^17 keys, which fit a core's L2 cache with their scratch): one
//     pass counts every remaining digit, then one scatter pass per digit that is not constant
//     in the part.
//   * Insertion sort below 48 keys.
// Every step knows on which side (array or scratch) its result must land; a copy fixes the
// parity when skipped digits left it on the other side.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "../buffer.hpp"
#include "run.hpp"

namespace corio::par::detail::radix {

template <class T>
concept radix_value =
    (std::is_integral_v<T> && !std::is_same_v<T, bool>) || std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class T>
using key_t = std::conditional_t<
    sizeof(T) == 1, std::uint8_t,
    std::conditional_t<sizeof(T) == 2, std::uint16_t, std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;

/// a < b exactly when key_of(a) < key_of(b) (floating point: for non-NaN values, with -0.0
/// before +0.0).
template <class T>
inline key_t<T> key_of(T x) noexcept {
  using U = key_t<T>;
  constexpr U sign = static_cast<U>(U{1} << (sizeof(U) * 8 - 1));
  if constexpr (std::is_floating_point_v<T>) {
    U b = std::bit_cast<U>(x);
    return (b & sign) ? static_cast<U>(~b) : static_cast<U>(b | sign);
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<U>(static_cast<U>(x) ^ sign);
  } else {
    return x;
  }
}

inline constexpr unsigned digit_bits = 8;
inline constexpr std::size_t radix_size = std::size_t{1} << digit_bits;
inline constexpr std::size_t insertion_max = 48;
inline constexpr std::size_t lsd_max = std::size_t{1} << 17;
inline constexpr std::size_t parallel_min = std::size_t{1} << 17;
inline constexpr std::size_t block_min = std::size_t{1} << 15;

template <class T>
inline unsigned digit(T x, unsigned shift) noexcept {
  return static_cast<unsigned>((key_of(x) >> shift) & (radix_size - 1));
}

template <class T>
void insertion_sort(T* a, std::size_t n) noexcept {
  for (std::size_t i = 1; i < n; ++i) {
    T x = a[i];
    const auto k = key_of(x);
    std::size_t j = i;
    for (; j > 0 && k < key_of(a[j - 1]); --j) a[j] = a[j - 1];
    a[j] = x;
  }
}

/// LSD radix sort of src[0..n) on its digits below bit `limit` (the keys agree above it).
/// The result lands in src if `in_src`, else in dst; the other array is scratch.
template <class T>
void lsd(T* src, T* dst, std::size_t n, unsigned limit, bool in_src) {
  using U = key_t<T>;
  constexpr unsigned max_digits = (sizeof(U) * 8 + digit_bits - 1) / digit_bits;
  const unsigned digits = (limit + digit_bits - 1) / digit_bits;
  std::array<std::array<std::uint32_t, radix_size>, max_digits> count{};
  for (std::size_t i = 0; i < n; ++i) {
    const U k = key_of(src[i]);
    for (unsigned d = 0; d < digits; ++d) ++count[d][(k >> (d * digit_bits)) & (radix_size - 1)];
  }
  T* from = src;
  T* to = dst;
  for (unsigned d = 0; d < digits; ++d) {
    auto& c = count[d];
    if (c[digit(from[0], d * digit_bits)] == n) continue;  // constant digit
    std::uint32_t sum = 0;
    for (auto& x : c) {
      const std::uint32_t v = x;
      x = sum;
      sum += v;
    }
    const unsigned shift = d * digit_bits;
    for (std::size_t i = 0; i < n; ++i) {
      const T x = from[i];
      to[c[(key_of(x) >> shift) & (radix_size - 1)]++] = x;
    }
    std::swap(from, to);
  }
  T* want = in_src ? src : dst;
  if (from != want) std::memcpy(want, from, n * sizeof(T));
}

/// Digit counts of one block, plus the AND and OR of its keys.
template <class T>
struct block_count {
  std::array<std::size_t, radix_size> count;
  key_t<T> all_and, all_or;
};

template <class T>
void count_block(const T* a, std::size_t n, unsigned shift, block_count<T>& out) noexcept {
  using U = key_t<T>;
  out.count.fill(0);
  U all_and = static_cast<U>(~U{0}), all_or = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const U k = key_of(a[i]);
    ++out.count[(k >> shift) & (radix_size - 1)];
    all_and &= k;
    all_or |= k;
  }
  out.all_and = all_and;
  out.all_or = all_or;
}

template <class T>
void sort_to(T* src, T* other, std::size_t n, unsigned limit, bool in_src, bool parallel);

/// One MSD step on src[0..n) (see the top of this file); the result lands in src if `in_src`,
/// else in other.
template <class T>
void msd(T* src, T* other, std::size_t n, unsigned limit, bool in_src, bool parallel) {
  using U = key_t<T>;
  const bool par = parallel && n >= parallel_min;
  const std::size_t blocks = par ? std::clamp<std::size_t>(n / block_min, 1, 256) : 1;
  const std::size_t per = (n + blocks - 1) / blocks;
  std::vector<block_count<T>> counts(blocks);
  auto count_all = [&](unsigned shift) {
    auto one = [&](std::size_t b) {
      const std::size_t lo = std::min(n, b * per), hi = std::min(n, lo + per);
      count_block(src + lo, hi - lo, shift, counts[b]);
    };
    if (par)
      for_each_index(blocks, one);
    else
      one(0);
  };
  unsigned shift = limit > digit_bits ? limit - digit_bits : 0;
  count_all(shift);
  U all_and = static_cast<U>(~U{0}), all_or = 0;
  std::size_t nonempty = 0;
  for (std::size_t d = 0; d < radix_size; ++d) {
    std::size_t total = 0;
    for (auto& c : counts) total += c.count[d];
    nonempty += total != 0;
  }
  for (auto& c : counts) {
    all_and &= c.all_and;
    all_or |= c.all_or;
  }
  const U varying = static_cast<U>(all_and ^ all_or);
  if (varying == 0) {  // all equal
    if (!in_src) std::memcpy(other, src, n * sizeof(T));
    return;
  }
  if (nonempty == 1) {  // the guessed digit is constant: go to the top digit that varies
    const unsigned top = static_cast<unsigned>(sizeof(U) * 8 - 1 - std::countl_zero(varying));
    shift = top >= digit_bits - 1 ? top - (digit_bits - 1) : 0;
    count_all(shift);
  }
  // offsets: digit-major, block-minor, so the scatter is stable
  std::array<std::size_t, radix_size + 1> start{};
  std::size_t sum = 0;
  for (std::size_t d = 0; d < radix_size; ++d) {
    start[d] = sum;
    for (auto& c : counts) {
      const std::size_t v = c.count[d];
      c.count[d] = sum;
      sum += v;
    }
  }
  start[radix_size] = sum;
  auto scatter = [&](std::size_t b) {
    auto& pos = counts[b].count;
    const std::size_t lo = std::min(n, b * per), hi = std::min(n, lo + per);
    for (std::size_t i = lo; i < hi; ++i) {
      const T x = src[i];
      other[pos[digit(x, shift)]++] = x;
    }
  };
  if (par)
    for_each_index(blocks, scatter);
  else
    scatter(0);
  if (shift == 0) {  // that was the last digit
    if (in_src) std::memcpy(src, other, n * sizeof(T));
    return;
  }
  // Each bucket's keys now sit in `other`; its part of `src` is its scratch.
  auto bucket = [&](std::size_t d) {
    const std::size_t lo = start[d], len = start[d + 1] - start[d];
    if (len) sort_to(other + lo, src + lo, len, shift, !in_src, parallel);
  };
  if (par)
    for_each_index(radix_size, bucket);
  else
    for (std::size_t d = 0; d < radix_size; ++d) bucket(d);
}

/// Sorts src[0..n), whose keys agree on every bit from `limit` up; the result lands in src if
/// `in_src`, else in other (the other array is scratch).
template <class T>
void sort_to(T* src, T* other, std::size_t n, unsigned limit, bool in_src, bool parallel) {
  if (n <= insertion_max) {
    T* dst = in_src ? src : other;
    if (!in_src) std::memcpy(other, src, n * sizeof(T));
    insertion_sort(dst, n);
  } else if (n <= lsd_max) {
    lsd(src, other, n, limit, in_src);
  } else {
    msd(src, other, n, limit, in_src, parallel);
  }
}

/// Sorts a[0..n) in parallel (on the calling worker's pool).
template <radix_value T>
void sort(T* a, std::size_t n) {
  if (n <= insertion_max) {
    insertion_sort(a, n);
    return;
  }
  auto scratch = make_bulk_array<T>(n);
  const bool parallel = n >= parallel_min && current_worker && current_worker->pool.size() > 1;
  if (parallel && n * sizeof(T) >= 4 * prefault_min_bytes)  // map the fresh scratch in parallel
    for_each_block(
        n, [&](std::size_t lo, std::size_t hi) { prefault_for_write(scratch.get() + lo, (hi - lo) * sizeof(T)); },
        n / 64 + 1);
  sort_to(a, scratch.get(), n, sizeof(key_t<T>) * 8, true, parallel);
}

}  // namespace corio::par::detail::radix
