#pragma once
// Running several tasks concurrently and gathering them.
//
//   auto v   = co_await corio::join_all(std::move(tasks));     // vector, input order
//   auto [a, b] = co_await corio::join(f(), g());              // tuple
//   auto [a, b] = co_await corio::try_join(f(), g());          // first exception cancels the rest
//   auto r   = co_await corio::select(f(), g());               // variant: first to finish
//
// Every helper spawns its tasks as children on the current runtime, so they run in parallel
// on any worker, and the helper does not return (or throw) until every child has finished or
// been cancelled: children may safely borrow from the caller's frame. If the calling task is
// aborted while it waits, the children are aborted too and the caller's frame stays alive
// until they are gone.
//
// Results: void becomes std::monostate in tuples and variants, and a reference T& becomes
// std::reference_wrapper<T>; join_all over void tasks returns void.
// Exceptions: join_all and join wait for all children, then rethrow the first exception in
// argument order; try_join rethrows the first exception in time after cancelling the rest;
// select returns (or rethrows) whatever finished first and cancels the rest. A cancelled
// child reports corio::cancelled.

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "detail/await_traits.hpp"
#include "detail/task_group.hpp"
#include "join_handle.hpp"
#include "task.hpp"

namespace corio {

namespace detail {

template <class T>
stored_t<T> take_stored(join_handle<T>& h) {
  if constexpr (std::is_void_v<T>) {
    h.take_result();
    return {};
  } else if constexpr (std::is_reference_v<T>) {
    return std::ref(h.take_result());
  } else {
    return h.take_result();
  }
}

/// Calls f(std::integral_constant<size_t, I>) for I == i.
template <std::size_t N, class F>
void with_index(std::size_t i, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((i == I ? (f(std::integral_constant<std::size_t, I>{}), 0) : 0), ...);
  }(std::make_index_sequence<N>{});
}

/// Cancels the children if the helper itself fails before it starts waiting.
struct abort_guard {
  task_group* g;
  ~abort_guard() {
    if (g) g->abort_all();
  }
};

template <class T>
using join_all_result_t = std::conditional_t<std::is_void_v<T>, void, std::vector<stored_t<T>>>;

}  // namespace detail

/// Runs every task concurrently; returns their results in input order.
template <class T>
task<detail::join_all_result_t<T>> join_all(std::vector<task<T>> tasks) {
  auto g = detail::task_group::create();
  std::vector<join_handle<T>> hs;
  hs.reserve(tasks.size());
  {
    detail::abort_guard guard{&*g};
    for (auto& t : tasks) hs.push_back(g->spawn(std::move(t)));
    guard.g = nullptr;
  }
  tasks.clear();
  co_await g->wait_all();
  std::exception_ptr first;
  if constexpr (std::is_void_v<T>) {
    for (auto& h : hs) {
      try {
        h.take_result();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  } else {
    std::vector<detail::stored_t<T>> out;
    out.reserve(hs.size());
    for (auto& h : hs) {
      try {
        out.push_back(detail::take_stored(h));
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
    co_return out;
  }
}

/// join_all over any range of tasks (moved from).
template <std::ranges::input_range R>
  requires detail::is_task<std::ranges::range_value_t<R>>::value
auto join_all(R&& range) {
  std::vector<std::ranges::range_value_t<R>> v;
  for (auto&& t : range) v.push_back(std::move(t));
  return join_all(std::move(v));
}

/// Awaits already spawned tasks in order; returns their results in input order. Unlike the
/// task overload, aborting the caller detaches (does not abort) these tasks.
template <class T>
task<detail::join_all_result_t<T>> join_all(std::vector<join_handle<T>> handles) {
  std::exception_ptr first;
  if constexpr (std::is_void_v<T>) {
    for (auto& h : handles) {
      try {
        co_await h;
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  } else {
    std::vector<detail::stored_t<T>> out;
    out.reserve(handles.size());
    for (auto& h : handles) {
      try {
        if constexpr (std::is_reference_v<T>)
          out.push_back(std::ref(co_await h));
        else
          out.push_back(co_await h);
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
    co_return out;
  }
}

namespace detail {

template <detail::task_group::policy P, class... Ts>
task<std::tuple<stored_t<Ts>...>> join_impl(task<Ts>... ts) {
  auto g = task_group::create(P);
  std::optional<std::tuple<join_handle<Ts>...>> hs;
  {
    abort_guard guard{&*g};
    hs.emplace(std::tuple<join_handle<Ts>...>{g->spawn(std::move(ts))...});  // braces: spawn order = position
    guard.g = nullptr;
  }
  co_await g->wait_all();
  if constexpr (P == task_group::policy::abort_on_failure) {
    if (auto f = g->first_failed())  // rethrow the first failure in time
      with_index<sizeof...(Ts)>(*f, [&](auto I) { std::get<I.value>(*hs).take_result(); });
  }
  std::exception_ptr first;
  auto take = [&first](auto& h) {
    using H = std::remove_cvref_t<decltype(h)>;
    std::optional<stored_t<typename H::value_type>> r;
    try {
      r.emplace(take_stored(h));
    } catch (...) {
      if (!first) first = std::current_exception();
    }
    return r;
  };
  auto results = std::apply([&](auto&... h) { return std::tuple{take(h)...}; }, *hs);
  if (first) std::rethrow_exception(first);
  co_return std::apply([](auto&... r) { return std::tuple<stored_t<Ts>...>{std::move(*r)...}; }, results);
}

}  // namespace detail

/// Runs the tasks concurrently; returns all results as a tuple once all have finished.
template <class... Ts>
task<std::tuple<detail::stored_t<Ts>...>> join(task<Ts>... ts) {
  return detail::join_impl<detail::task_group::policy::wait_all, Ts...>(std::move(ts)...);
}

/// Like join, but the first exception cancels the other tasks and is rethrown once they are gone.
template <class... Ts>
task<std::tuple<detail::stored_t<Ts>...>> try_join(task<Ts>... ts) {
  return detail::join_impl<detail::task_group::policy::abort_on_failure, Ts...>(std::move(ts)...);
}

/// Runs the tasks concurrently; the first to finish wins and the others are cancelled (and
/// gone) before this returns the winner's result as the variant alternative of its position,
/// or rethrows the winner's exception.
template <class... Ts>
task<std::variant<detail::stored_t<Ts>...>> select(task<Ts>... ts) {
  static_assert(sizeof...(Ts) > 0, "corio::select needs at least one task");
  auto g = detail::task_group::create(detail::task_group::policy::abort_on_first);
  std::optional<std::tuple<join_handle<Ts>...>> hs;
  {
    detail::abort_guard guard{&*g};
    hs.emplace(std::tuple<join_handle<Ts>...>{g->spawn(std::move(ts))...});  // braces: spawn order = position
    guard.g = nullptr;
  }
  co_await g->wait_all();
  std::optional<std::variant<detail::stored_t<Ts>...>> out;
  detail::with_index<sizeof...(Ts)>(*g->first_finished(), [&](auto I) {
    out.emplace(std::in_place_index<I.value>, detail::take_stored(std::get<I.value>(*hs)));
  });
  co_return std::move(*out);
}

}  // namespace corio
