#pragma once
// corio::par::join — run two functions, potentially in parallel, and return both results.
//
//   auto [l, r] = corio::par::join([&] { return sum(left); }, [&] { return sum(right); });
//
// `b` is offered to idle workers while the calling worker runs `a`; if nobody took it, the
// caller runs it next (so an uncontended join costs a few nanoseconds and allocates nothing).
// Both functions always run to completion, and join returns only after both have: they may
// borrow anything from the caller's frame. If either throws, join rethrows once both are done
// (a's exception if both threw). Results: std::pair of both (std::monostate for a void side);
// void if both are void. Reference results are returned as references.
//
// On a pool worker, join runs on that worker's pool; elsewhere the whole join runs on the
// default pool and the caller blocks (pool.hpp).

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "detail/job.hpp"
#include "detail/pool_core.hpp"

namespace corio::par {

namespace detail {

template <class T>
using join_part_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class A, class B>
using join_result_t =
    std::conditional_t<std::is_void_v<std::invoke_result_t<A&>> && std::is_void_v<std::invoke_result_t<B&>>, void,
                       std::pair<join_part_t<std::invoke_result_t<A&>>, join_part_t<std::invoke_result_t<B&>>>>;

template <class A, class B>
join_result_t<A, B> join_on(worker& w, A& a, B& b) {
  stack_job<B> jb(b, &w.park);
  const bool pushed = w.push(&jb);
  result_slot<std::invoke_result_t<A&>> ra;
  ra.run_catching(a);
  if (!pushed) {
    jb.run_inline();
  } else {
    for (;;) {
      job* j = w.deque.pop();
      if (j == &jb) {
        jb.run_inline();
        break;
      }
      if (!j) {  // stolen: help elsewhere until it is done
        w.wait_until(jb.done);
        break;
      }
      worker::execute(j);  // a job someone left above ours
    }
  }
  if (ra.failed()) std::rethrow_exception(ra.error());
  if (jb.result.failed()) std::rethrow_exception(jb.result.error());
  if constexpr (!std::is_void_v<join_result_t<A, B>>) return join_result_t<A, B>(ra.take(), jb.result.take());
}

}  // namespace detail

/// Runs a() and b(), potentially in parallel, and returns both results (see above). Blocks the
/// caller until both are done; rethrows a's exception, else b's.
template <class A, class B>
detail::join_result_t<A, B> join(A&& a, B&& b) {
  if (detail::worker* w = detail::current_worker) [[likely]]
    return detail::join_on(*w, a, b);
  auto whole = [&] { return detail::join_on(*detail::current_worker, a, b); };
  return detail::run_injected(detail::current_core(), whole);
}

}  // namespace corio::par
