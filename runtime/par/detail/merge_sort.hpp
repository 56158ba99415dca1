#pragma once
// Parallel stable merge sort (par::sort / par::stable_sort with a comparator, and of types
// radix sort does not handle).
//
// sort(a, b, n, to_b): sort the halves in parallel (par::join), each into the other array,
// then merge them into the array the caller wants, down to leaves of 2048 elements. Merges of more than 8192 elements are split in two independent merges: cut
// the longer run in the middle, find the matching position in the other run by binary search
// (lower_bound when the cut is in the left run, upper_bound when in the right, so equal
// elements keep left-run-first order), and merge both halves in parallel.
//
// Leaves sort runs of 16 by insertion and merge them bottom-up (std::stable_sort is not used:
// clang 19 with libstdc++ 12 rejects its deprecated temporary buffer under -Werror). The scratch
// array holds n constructed elements (moved from the input up front: in parallel when moves
// cannot throw); elements move between the two arrays by move assignment.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <new>
#include <type_traits>

#include "../buffer.hpp"
#include "../join.hpp"
#include "run.hpp"

namespace corio::par::detail::merge {

inline constexpr std::size_t leaf_max = 2048;
inline constexpr std::size_t run_length = 16;
inline constexpr std::size_t merge_leaf_max = 8192;

template <class T, class Comp>
void insertion_sort(T* a, std::size_t n, Comp& comp) {
  for (std::size_t i = 1; i < n; ++i) {
    if (!comp(a[i], a[i - 1])) continue;
    T x = std::move(a[i]);
    std::size_t j = i;
    do {
      a[j] = std::move(a[j - 1]);
      --j;
    } while (j > 0 && comp(x, a[j - 1]));
    a[j] = std::move(x);
  }
}

/// Merges x[0..nx) and y[0..ny) into out (x first among equals), moving the elements.
template <class T, class Comp>
void merge_seq(T* x, std::size_t nx, T* y, std::size_t ny, T* out, Comp& comp) {
  std::merge(std::make_move_iterator(x), std::make_move_iterator(x + nx), std::make_move_iterator(y),
             std::make_move_iterator(y + ny), out, std::ref(comp));
}

/// Sequential: insertion-sorted runs of 16, then bottom-up merges between a and b. The
/// result lands in b if `to_b`, else in a.
template <class T, class Comp>
void leaf_sort(T* a, T* b, std::size_t n, bool to_b, Comp& comp) {
  for (std::size_t i = 0; i < n; i += run_length) insertion_sort(a + i, std::min(run_length, n - i), comp);
  T* from = a;
  T* to = b;
  for (std::size_t w = run_length; w < n; w *= 2) {
    for (std::size_t i = 0; i < n; i += 2 * w) {
      const std::size_t nx = std::min(w, n - i), ny = std::min(w, n - i - nx);
      merge_seq(from + i, nx, from + i + nx, ny, to + i, comp);
    }
    std::swap(from, to);
  }
  T* want = to_b ? b : a;
  if (from != want) std::move(from, from + n, want);
}

/// Merges x[0..nx) and y[0..ny) into out (x first among equals).
template <class T, class Comp>
void merge_into(T* x, std::size_t nx, T* y, std::size_t ny, T* out, Comp& comp) {
  if (nx + ny <= merge_leaf_max) {
    merge_seq(x, nx, y, ny, out, comp);
    return;
  }
  std::size_t cx, cy;
  if (nx >= ny) {
    cx = nx / 2;
    cy = static_cast<std::size_t>(std::lower_bound(y, y + ny, x[cx], std::ref(comp)) - y);
  } else {
    cy = ny / 2;
    cx = static_cast<std::size_t>(std::upper_bound(x, x + nx, y[cy], std::ref(comp)) - x);
  }
  auto left = [&] { merge_into(x, cx, y, cy, out, comp); };
  auto right = [&] { merge_into(x + cx, nx - cx, y + cy, ny - cy, out + cx + cy, comp); };
  join_on(*current_worker, left, right);
}

/// Sorts a[0..n); the result lands in b if `to_b`, else in a. The other array is scratch.
template <class T, class Comp>
void sort_into(T* a, T* b, std::size_t n, bool to_b, Comp& comp) {
  if (n <= leaf_max) {
    leaf_sort(a, b, n, to_b, comp);
    return;
  }
  const std::size_t half = n / 2;
  auto left = [&] { sort_into(a, b, half, !to_b, comp); };
  auto right = [&] { sort_into(a + half, b + half, n - half, !to_b, comp); };
  join_on(*current_worker, left, right);
  T* from = to_b ? a : b;
  T* to = to_b ? b : a;
  merge_into(from, half, from + half, n - half, to, comp);
}

/// Sorts a[0..n) stably, on the calling worker's pool.
template <class T, class Comp>
void sort(T* a, std::size_t n, Comp& comp) {
  if (n <= 2 * run_length) {
    insertion_sort(a, n, comp);
    return;
  }
  struct storage_deleter {
    std::size_t n;
    void operator()(T* p) const noexcept { deallocate_bulk(p, n * sizeof(T), alignof(T)); }
  };
  struct scratch_deleter {
    std::size_t n;
    void operator()(T* p) const noexcept {
      std::destroy_n(p, n);
      storage_deleter{n}(p);
    }
  };
  std::unique_ptr<T, storage_deleter> raw(static_cast<T*>(allocate_bulk(n * sizeof(T), alignof(T))), storage_deleter{n});
  if constexpr (std::is_nothrow_move_constructible_v<T>)
    for_each_block(n, [&](std::size_t lo, std::size_t hi) { std::uninitialized_move(a + lo, a + hi, raw.get() + lo); },
                   4096);
  else
    std::uninitialized_move(a, a + n, raw.get());  // all or nothing
  std::unique_ptr<T, scratch_deleter> b(raw.release(), scratch_deleter{n});
  sort_into(b.get(), a, n, true, comp);  // the data is in the scratch now; the result goes back to a
}

}  // namespace corio::par::detail::merge
