#pragma once
// Running several things concurrently and gathering them.
//
//   auto v   = co_await corio::join_all(std::move(tasks));     // vector, input order
//   auto [a, b] = co_await corio::join(f(), g());              // tuple
//   auto [a, b] = co_await corio::try_join(f(), g());          // first exception cancels the rest
//   auto r   = co_await corio::select(rx.recv(), tok.cancelled()); // variant: first to finish
//
// Two ways to run, and why you would pick each:
//  - In parallel: join_all, join, try_join (and task_set, task_set.hpp) spawn each task as a
//    child task on the current runtime, so the children run at the same time on any worker.
//    Pick them for work that should use several cores, or that must all finish. Each child
//    costs a spawned task.
//  - Interleaved on one worker: select (and timeout, time.hpp) drive their branches inside
//    the calling task. Each branch is resumed by the caller's worker, one at a time; when one
//    finishes, the others are destroyed at their suspension point before select returns, so
//    exactly one branch ever completes and nothing a losing branch was about to receive is
//    taken (two receives can never both succeed, as they could on two workers). Pick select
//    to wait for the first of several events; it spawns nothing and costs no run-queue trip.
//    A CPU-heavy branch holds up the others (and the caller): spawn such work and select on
//    its join handle instead.
//
// Every helper waits until each child or branch has finished or been cancelled before it
// returns (or throws): children and branches may safely borrow from the caller's frame. If
// the calling task is aborted while it waits, the children or branches are cancelled too and
// the caller's frame stays alive until they are gone.
//
// Results: void becomes std::monostate in tuples and variants, and a reference T& becomes
// std::reference_wrapper<T>; join_all over void tasks returns void.
// Exceptions: join_all and join wait for all children, then rethrow the first exception in
// argument order; try_join rethrows the first exception in time after cancelling the rest;
// select returns (or rethrows) whatever finished first and cancels the rest. A cancelled
// child reports corio::cancelled.
// Cancel safety: join_all, join and try_join are cancel-safe in that aborting the caller
// aborts the children (their partial work is lost with them); select is cancel-safe exactly
// when each of its branches is (see select).

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "detail/await_traits.hpp"
#include "detail/branch_driver.hpp"
#include "detail/branch_slot.hpp"
#include "detail/task_group.hpp"
#include "join_handle.hpp"
#include "task.hpp"

namespace corio {

namespace detail {

/// The finished task's result (or its exception, thrown) as stored_t<T>.
template <class T>
stored_t<T> take_stored(join_handle<T>& h) {
  return to_stored<T>([&]() -> T { return h.take_result(); });
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

/// Races the awaitables (tasks, `rx.recv()`, `tok.cancelled()`, `corio::sleep(d)`,
/// `listener.accept()`, ...) inside the calling task: each is a branch resumed by the caller's
/// worker, one at a time, in argument order at first and then as they are woken. The first
/// branch to finish wins; every other branch is cancelled at its suspension point (an I/O
/// operation is cancelled with the kernel and waited for) before this returns the winner's
/// result as the variant alternative of its position, or rethrows the winner's exception.
/// Exactly one branch ever completes. Branches may borrow from the caller's frame.
/// Cancel safety: select itself is cancel-safe when every branch is (aborting the caller
/// cancels each branch as above); what a losing branch loses is what its own awaitable loses
/// when dropped at its suspension point. Throws corio::usage_error outside a task of a runtime.
template <class... As>
task<std::variant<detail::stored_t<detail::branch_result_t<As>>...>> select(As... as) {
  static_assert(sizeof...(As) > 0, "corio::select needs at least one awaitable");
  static_assert(sizeof...(As) <= 62, "corio::select takes at most 62 awaitables");
  constexpr std::uint32_t n = sizeof...(As);
  std::tuple<detail::branch_slot<As>...> slots(std::move(as)...);
  std::optional<std::variant<detail::stored_t<detail::branch_result_t<As>>...>> out;
  auto take = [&out](int won, auto&& get) {  // get(I): the outcome of branch I
    detail::with_index<n>(static_cast<std::size_t>(won), [&](auto I) {
      using T = detail::branch_result_t<std::tuple_element_t<I.value, std::tuple<As...>>>;
      out.emplace(std::in_place_index<I.value>, detail::to_stored<T>([&]() -> T { return get(I); }));
    });
  };
  if (int won = detail::try_slots(slots); won >= 0) {  // completed at once: no driver
    take(won, [&](auto I) -> decltype(auto) { return std::get<I.value>(slots).result_now(); });
    co_return std::move(*out);
  }
  detail::branch_spec specs[n];
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((specs[I] = std::get<I>(slots).spec()), ...);
  }(std::make_index_sequence<n>{});
  detail::branch_driver d("corio::select", specs, n);
  while (!d.step()) co_await d.park();
  while (d.cancel_losers()) co_await d.park();
  take(d.winner(), [&](auto I) -> decltype(auto) { return std::get<I.value>(slots).result(d, I.value); });
  co_return std::move(*out);
}

}  // namespace corio
