#pragma once
// corio::par::sort and stable_sort over contiguous ranges (vector, array, span, C arrays) or
// contiguous iterator pairs.
//
//   corio::par::sort(v);                                        // ascending, operator<
//   corio::par::sort(v, [](const rec& a, const rec& b) { return a.key < b.key; });
//   corio::par::stable_sort(v, by_name);
//
// Integers and floating-point values sorted with operator< (no comparator, or std::less /
// std::ranges::less) use a parallel radix sort (detail/radix_sort.hpp): O(n) work, a scratch
// array of n values. Everything else uses a parallel stable merge sort (detail/merge_sort.hpp):
// O(n log n) comparisons, a scratch array of n elements moved from the input. Floating point:
// NaNs are not ordered by operator< (a precondition violation for std::sort too); here they go
// to the ends. stable_sort of floating point uses the merge sort (-0.0 and +0.0 compare equal
// and keep their order).
//
// The comparator must be a strict weak ordering and safe to call concurrently. If it (or a
// move) throws, the exception is rethrown once every piece has stopped, and the range is left
// holding valid but unspecified values (as std::sort). Elements must be move-constructible and
// move-assignable.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <ranges>
#include <type_traits>

#include "detail/merge_sort.hpp"
#include "detail/pool_core.hpp"
#include "detail/radix_sort.hpp"

namespace corio::par {

namespace detail {

template <class Comp, class T>
inline constexpr bool is_plain_less = std::is_same_v<Comp, std::less<>> || std::is_same_v<Comp, std::less<T>> ||
                                      std::is_same_v<Comp, std::ranges::less>;

template <bool Stable, class T, class Comp>
void sort_dispatch(T* a, std::size_t n, Comp comp) {
  if (n < 2) return;
  auto whole = [&] {
    if constexpr (radix::radix_value<T> && is_plain_less<Comp, T> && (!Stable || std::is_integral_v<T>)) {
      radix::sort(a, n);
    } else {
      merge::sort(a, n, comp);
    }
  };
  run_in(current_core(), whole);
}

}  // namespace detail

/// Sorts [first, last) with `comp` (see above for the algorithm). Not stable. Blocks the calling
/// thread until done (from a task: co_await par::run).
template <std::contiguous_iterator It, class Comp = std::ranges::less>
void sort(It first, It last, Comp comp = {}) {
  detail::sort_dispatch<false>(std::to_address(first), static_cast<std::size_t>(last - first), std::move(comp));
}
/// Sorts a whole contiguous range.
template <std::ranges::contiguous_range R, class Comp = std::ranges::less>
  requires std::ranges::sized_range<R>
void sort(R&& r, Comp comp = {}) {
  detail::sort_dispatch<false>(std::ranges::data(r), std::ranges::size(r), std::move(comp));
}

/// As sort, keeping the order of equal elements.
template <std::contiguous_iterator It, class Comp = std::ranges::less>
void stable_sort(It first, It last, Comp comp = {}) {
  detail::sort_dispatch<true>(std::to_address(first), static_cast<std::size_t>(last - first), std::move(comp));
}
/// Stable-sorts a whole contiguous range.
template <std::ranges::contiguous_range R, class Comp = std::ranges::less>
  requires std::ranges::sized_range<R>
void stable_sort(R&& r, Comp comp = {}) {
  detail::sort_dispatch<true>(std::ranges::data(r), std::ranges::size(r), std::move(comp));
}

}  // namespace corio::par
