#pragma once
// What `co_await a` yields for an arbitrary awaitable, and turning any awaitable into a task.

#include <type_traits>
#include <utility>

#include "../task.hpp"

namespace corio::detail {

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); })
    return std::forward<A>(a).operator co_await();
  else if constexpr (requires { operator co_await(std::forward<A>(a)); })
    return operator co_await(std::forward<A>(a));
  else
    return std::forward<A>(a);
}

template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

template <class A>
task<await_result_t<A>> awaitable_task(A a) {
  if constexpr (std::is_void_v<await_result_t<A>>)
    co_await std::move(a);
  else
    co_return co_await std::move(a);
}

/// A task as is; any other awaitable wrapped in a task that awaits it.
template <class A>
auto as_task(A&& a) {
  if constexpr (is_task<std::remove_cvref_t<A>>::value)
    return std::forward<A>(a);
  else
    return awaitable_task<std::remove_cvref_t<A>>(std::forward<A>(a));
}

/// The type the join helpers store for a task's result: void -> std::monostate,
/// T& -> std::reference_wrapper<T>.
template <class T>
using stored_t = std::conditional_t<std::is_void_v<T>, std::monostate,
                                    std::conditional_t<std::is_reference_v<T>, std::reference_wrapper<std::remove_reference_t<T>>, T>>;

}  // namespace corio::detail
