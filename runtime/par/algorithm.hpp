#pragma once
// Parallel versions of the standard algorithms over random-access ranges (or iterator pairs).
//
//   corio::par::for_each(v, [](auto& x) { x *= 2; });
//   corio::par::transform(in, out.begin(), [](auto x) { return x + 1; });
//   auto total = corio::par::reduce(v, std::uint64_t{0});                  // std::plus<>
//   auto sq = corio::par::transform_reduce(v, 0.0, std::plus<>(), [](double x) { return x * x; });
//   bool neg = corio::par::any_of(v, [](int x) { return x < 0; });
//   auto lo = corio::par::min(v);                                           // std::optional
//
// Work is split adaptively (detail/drive.hpp) on the pool of the calling thread (pool.hpp);
// elements are visited in no particular order and on any worker, so the functions must be
// safe to call concurrently on different elements. reduce and transform_reduce need an
// associative operation (not a commutative one: pieces are combined in index order). If a
// function throws, the call rethrows the first exception after every piece has stopped (no
// new chunks are started once one failed). find_any/any_of/all_of/none_of stop early.

#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "detail/run.hpp"

namespace corio::par {

/// What the algorithms accept: random-access ranges whose size is known.
template <class R>
concept indexable_range = std::ranges::random_access_range<R> && std::ranges::sized_range<R>;

namespace detail {

template <class It>
decltype(auto) at(const It& first, std::size_t i) {
  return first[static_cast<std::iter_difference_t<It>>(i)];
}

template <class It, class T, class Op, class Tr>
struct reduce_folder {
  using acc_type = std::optional<T>;
  It first;
  Op& op;
  Tr& tr;
  std::size_t min_split = 1;
  acc_type identity() const noexcept { return std::nullopt; }
  acc_type fold(acc_type acc, std::size_t lo, std::size_t hi) {
    T a = acc ? T(op(std::move(*acc), tr(at(first, lo)))) : T(tr(at(first, lo)));
    for (std::size_t i = lo + 1; i < hi; ++i) a = op(std::move(a), tr(at(first, i)));
    return acc_type(std::move(a));
  }
  acc_type combine(acc_type l, acc_type r) {
    if (!l) return r;
    if (!r) return l;
    return acc_type(op(std::move(*l), std::move(*r)));
  }
};

inline constexpr std::size_t npos = ~std::size_t{0};

template <class It, class Pred>
struct find_folder {
  It first;
  Pred& pred;
  loop_control& ctl;
  std::size_t min_split = 1;
  std::size_t identity() const noexcept { return npos; }
  std::size_t fold(std::size_t found, std::size_t lo, std::size_t hi) {
    if (found != npos) return found;
    for (std::size_t i = lo; i < hi; ++i)
      if (pred(at(first, i))) {
        ctl.request_stop();
        return i;
      }
    return npos;
  }
  std::size_t combine(std::size_t l, std::size_t r) const noexcept { return l != npos ? l : r; }
};

template <class It, class Pred>
struct count_folder {
  It first;
  Pred& pred;
  std::size_t min_split = 1;
  std::size_t identity() const noexcept { return 0; }
  std::size_t fold(std::size_t n, std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) n += pred(at(first, i)) ? 1 : 0;
    return n;
  }
  std::size_t combine(std::size_t l, std::size_t r) const noexcept { return l + r; }
};

/// Index of the best element; `better(a, b)`: a strictly beats b. Ties keep the leftmost.
template <class It, class Better>
struct best_folder {
  It first;
  Better& better;
  std::size_t min_split = 1;
  std::size_t identity() const noexcept { return npos; }
  std::size_t fold(std::size_t best, std::size_t lo, std::size_t hi) {
    std::size_t i = lo;
    if (best == npos) best = i++;
    for (; i < hi; ++i)
      if (better(at(first, i), at(first, best))) best = i;
    return best;
  }
  std::size_t combine(std::size_t l, std::size_t r) {
    if (l == npos) return r;
    if (r == npos) return l;
    return better(at(first, r), at(first, l)) ? r : l;
  }
};

template <class It, class Pred>
std::size_t find_index(It first, std::size_t n, Pred& pred) {
  loop_control ctl;
  find_folder<It, Pred> f{first, pred, ctl};
  return fold_range(f, n, ctl);
}

}  // namespace detail

// --- for_each / transform ----------------------------------------------------------------------

/// Calls f(x) for every element x (a reference into the range).
template <std::random_access_iterator It, class F>
void for_each(It first, It last, F f) {
  detail::for_each_index(static_cast<std::size_t>(last - first), [&](std::size_t i) { f(detail::at(first, i)); });
}
/// The same over a whole range.
template <indexable_range R, class F>
void for_each(R&& r, F f) {
  par::for_each(std::ranges::begin(r), std::ranges::begin(r) + std::ranges::distance(r), std::move(f));
}

/// out[i] = f(in[i]) for every i; returns the end of the output. `out` must be a random-access
/// iterator (or pointer) to at least size(in) elements, not overlapping the input unless equal.
template <indexable_range R, std::random_access_iterator Out, class F>
Out transform(R&& in, Out out, F f) {
  auto first = std::ranges::begin(in);
  const auto n = static_cast<std::size_t>(std::ranges::distance(in));
  detail::for_each_block(n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) detail::at(out, i) = f(detail::at(first, i));
  });
  return out + static_cast<std::iter_difference_t<Out>>(n);
}

// --- reductions --------------------------------------------------------------------------------

/// init op x0 op x1 op ... for an associative `op`.
template <indexable_range R, class T, class Op = std::plus<>>
T reduce(R&& r, T init, Op op = {}) {
  auto ident = [](auto&& x) -> decltype(auto) { return std::forward<decltype(x)>(x); };
  detail::reduce_folder<std::ranges::iterator_t<R>, T, Op, decltype(ident)> f{std::ranges::begin(r), op, ident};
  auto acc = detail::fold_range(f, static_cast<std::size_t>(std::ranges::distance(r)));
  return acc ? T(op(std::move(init), std::move(*acc))) : init;
}

/// init rop tr(x0) rop tr(x1) rop ... for an associative `rop`.
template <indexable_range R, class T, class ReduceOp, class TransformOp>
T transform_reduce(R&& r, T init, ReduceOp rop, TransformOp tr) {
  detail::reduce_folder<std::ranges::iterator_t<R>, T, ReduceOp, TransformOp> f{std::ranges::begin(r), rop, tr};
  auto acc = detail::fold_range(f, static_cast<std::size_t>(std::ranges::distance(r)));
  return acc ? T(rop(std::move(init), std::move(*acc))) : init;
}

/// Number of elements satisfying `pred`.
template <indexable_range R, class Pred>
std::size_t count_if(R&& r, Pred pred) {
  detail::count_folder<std::ranges::iterator_t<R>, Pred> f{std::ranges::begin(r), pred};
  return detail::fold_range(f, static_cast<std::size_t>(std::ranges::distance(r)));
}

// --- searches ----------------------------------------------------------------------------------

/// An iterator to some element satisfying `pred` (not necessarily the first), or end. Stops the
/// other pieces as soon as one has found a match.
template <indexable_range R, class Pred>
std::ranges::borrowed_iterator_t<R> find_any(R&& r, Pred pred) {
  auto first = std::ranges::begin(r);
  const auto n = static_cast<std::size_t>(std::ranges::distance(r));
  std::size_t i = detail::find_index(first, n, pred);
  return first + static_cast<std::ranges::range_difference_t<R>>(i == detail::npos ? n : i);
}

/// True if some element satisfies `pred` (stops early once one does).
template <indexable_range R, class Pred>
bool any_of(R&& r, Pred pred) {
  return detail::find_index(std::ranges::begin(r), static_cast<std::size_t>(std::ranges::distance(r)), pred) !=
         detail::npos;
}
/// True if no element satisfies `pred`.
template <indexable_range R, class Pred>
bool none_of(R&& r, Pred pred) {
  return !par::any_of(r, std::move(pred));
}
/// True if every element satisfies `pred` (stops early at a counterexample).
template <indexable_range R, class Pred>
bool all_of(R&& r, Pred pred) {
  return !par::any_of(r, [&](auto&& x) { return !pred(std::forward<decltype(x)>(x)); });
}

// --- min / max ---------------------------------------------------------------------------------

/// The first smallest element (as std::min_element), or end for an empty range.
template <indexable_range R, class Comp = std::ranges::less>
std::ranges::borrowed_iterator_t<R> min_element(R&& r, Comp comp = {}) {
  auto first = std::ranges::begin(r);
  const auto n = static_cast<std::size_t>(std::ranges::distance(r));
  auto better = [&](auto&& a, auto&& b) { return comp(a, b); };
  detail::best_folder<std::ranges::iterator_t<R>, decltype(better)> f{first, better};
  std::size_t i = detail::fold_range(f, n);
  return first + static_cast<std::ranges::range_difference_t<R>>(i == detail::npos ? n : i);
}

/// The first largest element (as std::max_element), or end for an empty range.
template <indexable_range R, class Comp = std::ranges::less>
std::ranges::borrowed_iterator_t<R> max_element(R&& r, Comp comp = {}) {
  auto first = std::ranges::begin(r);
  const auto n = static_cast<std::size_t>(std::ranges::distance(r));
  auto better = [&](auto&& a, auto&& b) { return comp(b, a); };
  detail::best_folder<std::ranges::iterator_t<R>, decltype(better)> f{first, better};
  std::size_t i = detail::fold_range(f, n);
  return first + static_cast<std::ranges::range_difference_t<R>>(i == detail::npos ? n : i);
}

/// The smallest value, or nullopt for an empty range.
template <indexable_range R, class Comp = std::ranges::less>
std::optional<std::ranges::range_value_t<R>> min(R&& r, Comp comp = {}) {
  auto it = par::min_element(r, std::move(comp));
  if (it == std::ranges::end(r)) return std::nullopt;
  return *it;
}

/// The largest value, or nullopt for an empty range.
template <indexable_range R, class Comp = std::ranges::less>
std::optional<std::ranges::range_value_t<R>> max(R&& r, Comp comp = {}) {
  auto it = par::max_element(r, std::move(comp));
  if (it == std::ranges::end(r)) return std::nullopt;
  return *it;
}

}  // namespace corio::par
