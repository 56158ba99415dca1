#pragma once
// corio::par iterator pipelines, for those who know Rayon's par_iter().
//
//   auto total = corio::par::iter(v).map([](int x) { return x * x; }).sum();
//   auto evens = corio::par::iter(v).filter([](int x) { return x % 2 == 0; }).collect<std::vector>();
//   auto hits  = corio::par::range(0, 1'000'000).filter(is_prime).count();
//   corio::par::iter_mut(v).for_each([](int& x) { x += 1; });
//   auto sums  = corio::par::chunks(v, 1024).map([](std::span<const int> c) { ... }).collect<std::vector>();
//
// Sources: iter(r) (const references to the elements of a random-access sized range),
// iter_mut(r) (mutable references), range(a, b) (the integers a..b-1), chunks(r, k) /
// chunks_mut(r, k) (consecutive spans of k elements of a contiguous range, the last shorter).
// A source must outlive the pipeline; pipelines over temporaries do not compile.
//
// Stages: map(f), filter(p) — lazy, fused into one loop per piece of work, nothing is
// materialised between stages. Terminals run the pipeline on the pool of the calling thread
// (pool.hpp), splitting adaptively (detail/drive.hpp): for_each(f), sum(), reduce(id, op),
// count(), min(), max(), any(p), all(p), find_any(p), collect<std::vector>(),
// collect<corio::par::buffer>(), collect_into(out).
//
// Speed: reduce, sum and count over a scalar fold each piece in four chains, and on x86-64
// run a second copy of that loop compiled for AVX2 where the processor has it, with the same
// results, floating-point included (detail/fold.hpp).
//
// Order: collect keeps the source order; reduce combines in source order (op must be
// associative, id an identity: it is used several times per piece); for_each, any and
// find_any visit items in no particular order. Functions are called concurrently from several
// workers and must be callable as const. Exceptions: the first one is rethrown after every
// piece stopped.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "algorithm.hpp"
#include "buffer.hpp"
#include "detail/fold.hpp"
#include "detail/run.hpp"

namespace corio::par {

namespace detail {

// --- sources: size() items, item i is get(i) ---------------------------------------------------

template <class It>
struct slice_source {
  using item = std::iter_reference_t<It>;
  It first;
  std::size_t n;
  std::size_t size() const noexcept { return n; }
  item get(std::size_t i) const { return at(first, i); }
};

template <std::integral I>
struct iota_source {
  using item = I;
  I lo;
  std::size_t n;
  std::size_t size() const noexcept { return n; }
  I get(std::size_t i) const noexcept { return static_cast<I>(lo + static_cast<I>(i)); }
};

template <class T>
struct chunk_source {
  using item = std::span<T>;
  T* p;
  std::size_t len;  // elements
  std::size_t k;    // per chunk
  std::size_t size() const noexcept { return len / k + (len % k != 0); }
  std::span<T> get(std::size_t i) const noexcept { return {p + i * k, std::min(k, len - i * k)}; }
};

// --- stages: apply(x, sink) passes what becomes of x (zero or one item) to sink ----------------

struct identity_stage {
  static constexpr bool indexed = true;
  template <class X>
  using output = X;
  template <class X, class Sink>
  void apply(X&& x, Sink&& sink) const {
    sink(std::forward<X>(x));
  }
};

template <class Prev, class F>
struct map_stage {
  static constexpr bool indexed = Prev::indexed;
  template <class X>
  using output = std::invoke_result_t<const F&, typename Prev::template output<X>>;
  Prev prev;
  F f;
  template <class X, class Sink>
  void apply(X&& x, Sink&& sink) const {
    prev.apply(std::forward<X>(x), [&](auto&& y) { sink(std::invoke(f, std::forward<decltype(y)>(y))); });
  }
};

template <class Prev, class P>
struct filter_stage {
  static constexpr bool indexed = false;
  template <class X>
  using output = typename Prev::template output<X>;
  Prev prev;
  P p;
  template <class X, class Sink>
  void apply(X&& x, Sink&& sink) const {
    prev.apply(std::forward<X>(x), [&](auto&& y) {
      if (std::invoke(p, std::as_const(y))) sink(std::forward<decltype(y)>(y));
    });
  }
};

/// reduce's identity: a value, or a function returning one.
template <class Id, bool = std::is_invocable_v<const Id&>>
struct identity_value {
  using type = Id;
};
template <class Id>
struct identity_value<Id, true> {
  using type = std::invoke_result_t<const Id&>;
};

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

struct buffer_access {
  template <class T>
  static buffer<T> uninitialized(std::size_t n) {
    return buffer<T>::uninitialized(n);
  }
  template <class T>
  static void mark_constructed(buffer<T>& b) noexcept {
    b.mark_constructed();
  }
};

}  // namespace detail

/// A lazy parallel pipeline: a source and the stages applied to its items (see above). Made by
/// iter/iter_mut/range/chunks; a cheap value that borrows its source. Each terminal runs it once,
/// blocking the calling thread until done (use par::run from a task).
template <class Source, class Stage = detail::identity_stage>
class pipeline {
 public:
  ///@{
  /// What the stages produce (possibly a reference), and its value type.
  using item_type = typename Stage::template output<typename Source::item>;
  using value_type = std::remove_cvref_t<item_type>;
  ///@}
  /// True while the pipeline has no filter: item i comes from source item i.
  static constexpr bool indexed = Stage::indexed;

  /// A pipeline over `src` with `stage` (use the source functions below instead).
  pipeline(Source src, Stage stage) : src_(std::move(src)), stage_(std::move(stage)) {}

  // --- stages ---

  /// A pipeline whose items are f(item): lazy, f runs in the terminal, concurrently.
  template <class F>
  pipeline<Source, detail::map_stage<Stage, F>> map(F f) const {
    return {src_, {stage_, std::move(f)}};
  }
  /// A pipeline of the items for which p(item) is true (no longer indexed: no size()).
  template <class P>
  pipeline<Source, detail::filter_stage<Stage, P>> filter(P p) const {
    return {src_, {stage_, std::move(p)}};
  }

  /// Number of items (indexed pipelines only; use count() after a filter).
  std::size_t size() const noexcept
    requires indexed
  {
    return src_.size();
  }

  // --- terminals ---

  /// Calls f(item) for every item, in no particular order.
  template <class F>
  void for_each(F f) const {
    struct folder {
      const pipeline& pl;
      const F& f;
      std::size_t min_split = 1;
      detail::nothing identity() const noexcept { return {}; }
      detail::nothing fold(detail::nothing, std::size_t lo, std::size_t hi) const {
        for (std::size_t i = lo; i < hi; ++i)
          pl.stage_.apply(pl.src_.get(i), [&](auto&& x) { std::invoke(f, std::forward<decltype(x)>(x)); });
        return {};
      }
      detail::nothing combine(detail::nothing, detail::nothing) const noexcept { return {}; }
    } fo{*this, f};
    detail::fold_range(fo, src_.size());
  }

  /// identity op item0 op item1 ..., combined in source order. `identity` is a value or a
  /// function returning one; it must be an identity of `op` (used several times per piece).
  template <class Id, class Op>
  auto reduce(Id identity, Op op) const {
    using T = typename detail::identity_value<Id>::type;
    struct folder {
      const pipeline& pl;
      const Id& id;
      const Op& op;
      std::size_t min_split = 1;
      T identity() const {
        if constexpr (std::is_invocable_v<const Id&>)
          return std::invoke(id);
        else
          return id;
      }
      void step(T& acc, std::size_t i) const {
        pl.stage_.apply(pl.src_.get(i), [&](auto&& x) { acc = std::invoke(op, std::move(acc), std::forward<decltype(x)>(x)); });
      }
      T fold(T acc, std::size_t lo, std::size_t hi) const {
        if constexpr (std::is_scalar_v<T>) {
          return detail::fold_chains(*this, std::move(acc), lo, hi);  // four chains, AVX2 where it runs
        } else {
          for (std::size_t i = lo; i < hi; ++i) step(acc, i);
          return acc;
        }
      }
      T combine(T l, T r) const { return std::invoke(op, std::move(l), std::move(r)); }
    } fo{*this, identity, op};
    return detail::fold_range(fo, src_.size());
  }

  /// The sum of the items (value_type{} for none), with operator+.
  value_type sum() const { return reduce(value_type{}, std::plus<>{}); }

  /// Number of items.
  std::size_t count() const {
    if constexpr (indexed) {
      return src_.size();
    } else {
      return map([](auto&&) { return std::size_t{1}; }).sum();
    }
  }

  /// The smallest item (the first of equal ones), or nullopt if there is none.
  template <class Comp = std::ranges::less>
  std::optional<value_type> min(Comp comp = {}) const {
    return best([&](const value_type& a, const value_type& b) { return std::invoke(comp, a, b); });
  }
  /// The largest item (the first of equal ones), or nullopt if there is none.
  template <class Comp = std::ranges::less>
  std::optional<value_type> max(Comp comp = {}) const {
    return best([&](const value_type& a, const value_type& b) { return std::invoke(comp, b, a); });
  }

  /// Some item satisfying p (not necessarily the first), or nullopt. Stops early.
  template <class P>
  std::optional<value_type> find_any(P p) const {
    detail::loop_control ctl;
    struct folder {
      using acc_type = std::optional<value_type>;
      const pipeline& pl;
      const P& p;
      detail::loop_control& ctl;
      std::size_t min_split = 1;
      acc_type identity() const noexcept { return std::nullopt; }
      acc_type fold(acc_type found, std::size_t lo, std::size_t hi) const {
        for (std::size_t i = lo; i < hi && !found; ++i)
          pl.stage_.apply(pl.src_.get(i), [&](auto&& x) {
            if (std::invoke(p, std::as_const(x))) {
              found.emplace(std::forward<decltype(x)>(x));
              ctl.request_stop();
            }
          });
        return found;
      }
      acc_type combine(acc_type l, acc_type r) const { return l ? std::move(l) : std::move(r); }
    } fo{*this, p, ctl};
    return detail::fold_range(fo, src_.size(), ctl);
  }
  /// True if some item satisfies p. Stops early.
  template <class P>
  bool any(P p) const {
    return filter(std::move(p)).find_any([](const auto&) { return true; }).has_value();
  }
  /// True if every item satisfies p. Stops early at a counterexample.
  template <class P>
  bool all(P p) const {
    return !any([p = std::move(p)](const auto& x) { return !std::invoke(p, x); });
  }

  /// The items in source order: collect<std::vector>() or collect<corio::par::buffer>().
  /// Another container C works too (built from a vector of the items).
  template <template <class...> class C>
  C<value_type> collect() const {
    using out_t = C<value_type>;
    if constexpr (std::is_same_v<out_t, buffer<value_type>>) {
      if constexpr (indexed && std::is_trivially_destructible_v<value_type>) {
        const std::size_t n = src_.size();
        auto out = detail::buffer_access::uninitialized<value_type>(n);
        fill(out.data(), n, true);
        detail::buffer_access::mark_constructed(out);
        return out;
      } else {
        auto v = collect_pieces();
        buffer<value_type> out = detail::buffer_access::uninitialized<value_type>(v.size());
        std::uninitialized_move(v.begin(), v.end(), out.data());
        detail::buffer_access::mark_constructed(out);
        return out;
      }
    } else if constexpr (detail::is_std_vector<out_t>::value && indexed && std::is_default_constructible_v<value_type> &&
                         std::is_move_assignable_v<value_type>) {
      out_t out(src_.size());  // value-initialised here, on one thread: see buffer.hpp
      assign_into(out.begin());
      return out;
    } else if constexpr (detail::is_std_vector<out_t>::value) {
      return collect_pieces();
    } else {
      auto v = collect_pieces();
      return out_t(std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
    }
  }

  /// out[i] = item i, for an indexed pipeline and a random-access iterator to size() elements.
  template <std::random_access_iterator Out>
    requires indexed
  void collect_into(Out out) const {
    assign_into(out);
  }

 private:
  template <class, class>
  friend class pipeline;

  template <class Better>
  std::optional<value_type> best(Better better) const {
    struct folder {
      using acc_type = std::optional<value_type>;
      const pipeline& pl;
      const Better& better;
      std::size_t min_split = 1;
      acc_type identity() const noexcept { return std::nullopt; }
      acc_type fold(acc_type acc, std::size_t lo, std::size_t hi) const {
        for (std::size_t i = lo; i < hi; ++i)
          pl.stage_.apply(pl.src_.get(i), [&](auto&& x) {
            if (!acc || better(x, *acc)) acc.emplace(std::forward<decltype(x)>(x));
          });
        return acc;
      }
      acc_type combine(acc_type l, acc_type r) const {
        if (!l) return r;
        if (!r) return l;
        return better(*r, *l) ? std::move(r) : std::move(l);
      }
    } fo{*this, better};
    return detail::fold_range(fo, src_.size());
  }

  /// Assigns item i to out[i].
  template <class Out>
  void assign_into(Out out) const {
    detail::for_each_block(src_.size(), [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i)
        stage_.apply(src_.get(i), [&](auto&& x) { detail::at(out, i) = std::forward<decltype(x)>(x); });
    });
  }

  /// Constructs item i at out + i (raw storage; trivially destructible items), mapping the
  /// pages of each block first when `prefault`.
  void fill(value_type* out, std::size_t n, bool prefault) const {
    detail::for_each_block(n, [&](std::size_t lo, std::size_t hi) {
      if (prefault && (hi - lo) * sizeof(value_type) >= detail::prefault_min_bytes)
        detail::prefault_for_write(out + lo, (hi - lo) * sizeof(value_type));
      for (std::size_t i = lo; i < hi; ++i)
        stage_.apply(src_.get(i), [&](auto&& x) { std::construct_at(out + i, std::forward<decltype(x)>(x)); });
    });
  }

  /// Items in order, gathered per piece and concatenated.
  std::vector<value_type> collect_pieces() const {
    using pieces = std::vector<std::vector<value_type>>;
    struct folder {
      const pipeline& pl;
      std::size_t min_split = 1;
      pieces identity() const { return {}; }
      pieces fold(pieces acc, std::size_t lo, std::size_t hi) const {
        if (acc.empty()) acc.emplace_back();
        auto& out = acc.back();
        for (std::size_t i = lo; i < hi; ++i)
          pl.stage_.apply(pl.src_.get(i), [&](auto&& x) { out.emplace_back(std::forward<decltype(x)>(x)); });
        return acc;
      }
      pieces combine(pieces l, pieces r) const {
        if (l.empty()) return r;
        for (auto& v : r) l.push_back(std::move(v));
        return l;
      }
    } fo{*this};
    pieces all = detail::fold_range(fo, src_.size());
    if (all.size() == 1) return std::move(all.front());
    std::size_t total = 0;
    for (auto& v : all) total += v.size();
    std::vector<value_type> out;
    out.reserve(total);
    for (auto& v : all) out.insert(out.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
    return out;
  }

  Source src_;
  Stage stage_;
};

// --- sources -------------------------------------------------------------------------------------

/// A pipeline over const references to the elements of `r` (which must outlive it).
template <class R>
  requires indexable_range<R&> && (std::is_lvalue_reference_v<R> || std::ranges::borrowed_range<R>)
auto iter(R&& r) {
  auto first = std::ranges::cbegin(r);
  using src = detail::slice_source<decltype(first)>;
  return pipeline<src>(src{first, static_cast<std::size_t>(std::ranges::distance(r))}, {});
}

/// A pipeline over mutable references to the elements of `r`.
template <class R>
  requires indexable_range<R&> && (std::is_lvalue_reference_v<R> || std::ranges::borrowed_range<R>)
auto iter_mut(R&& r) {
  auto first = std::ranges::begin(r);
  using src = detail::slice_source<decltype(first)>;
  return pipeline<src>(src{first, static_cast<std::size_t>(std::ranges::distance(r))}, {});
}

/// The integers lo, lo+1, ..., hi-1 (empty if hi <= lo).
template <std::integral I>
auto range(I lo, I hi) {
  using src = detail::iota_source<I>;
  std::size_t n = hi > lo ? static_cast<std::size_t>(static_cast<std::make_unsigned_t<I>>(hi - lo)) : 0;
  return pipeline<src>(src{lo, n}, {});
}

namespace detail {
template <class R>
auto chunk_pipeline(R& r, std::size_t k, auto* data) {
  if (k == 0) throw std::invalid_argument("corio::par::chunks: chunk size 0");
  using T = std::remove_pointer_t<decltype(data)>;
  using src = chunk_source<T>;
  return pipeline<src>(src{data, static_cast<std::size_t>(std::ranges::size(r)), k}, {});
}
}  // namespace detail

/// Consecutive std::span<const T> of k elements of a contiguous range (the last may be
/// shorter). Throws std::invalid_argument for k == 0.
template <class R>
  requires std::ranges::contiguous_range<R&> && std::ranges::sized_range<R&> &&
           (std::is_lvalue_reference_v<R> || std::ranges::borrowed_range<R>)
auto chunks(R&& r, std::size_t k) {
  using T = const std::ranges::range_value_t<R&>;
  return detail::chunk_pipeline(r, k, static_cast<T*>(std::ranges::data(r)));
}

/// As chunks, with mutable spans.
template <class R>
  requires std::ranges::contiguous_range<R&> && std::ranges::sized_range<R&> &&
           (std::is_lvalue_reference_v<R> || std::ranges::borrowed_range<R>)
auto chunks_mut(R&& r, std::size_t k) {
  return detail::chunk_pipeline(r, k, std::ranges::data(r));
}

}  // namespace corio::par
