// The join side of the task state machine (task_header.hpp). Registering, unregistering and
// waking the joiner is the join slot's protocol (detail/join_slot.hpp); the completing worker
// wakes the joiner (scheduler.cpp, notify_join). Release is the task's own:
//
//   release:    clear `join_interest` and drop the handle's reference (the frame went at
//               completion; an outcome nobody took goes with the header).

#include "join_handle.hpp"

#include <fmt/format.h>

#include "detail/join_slot.hpp"
#include "detail/scheduler.hpp"
#include "detail/task_transitions.hpp"

namespace corio::detail {

namespace ts = task_state;

bool join_register(task_header* t, task_header* w) noexcept {
  return join_slot::register_waker(t->state, join_slot::waker_field{t->join_waiter}, w);
}

void join_unregister(task_header* t) noexcept {
  join_slot::unregister_waker(t->state, join_slot::waker_field{t->join_waiter});
}

void join_release(task_header* t) noexcept {
  // One transition drops interest and the handle's reference. If the task has finished, its
  // outcome (taken or not) is destroyed first: the header may outlive the handle (a waker,
  // the registry), the value should not. An exception it holds was observable by the owner
  // of the handle, so it is discarded rather than reported.
  std::uint64_t ns = task_transition::join_release(t->state, [t] { t->result->destroy(t->result_slot()); });
  if (ts::refs(ns) == 0) free_task_header(t, ns);
}

bool join_is_complete(const task_header* t) noexcept { return join_slot::is_complete(t->state); }

void join_check_not_cancelled(const task_header* t) {
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  if (!(s & ts::output))
    throw cancelled(fmt::format("corio: task {} was cancelled before it finished (aborted, or its runtime shut down)", t->id));
}

}  // namespace corio::detail
