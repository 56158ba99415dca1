// The join side of the task state machine (task_header.hpp).
//
//   register:   store the waker in `join_waiter`, then set `join_waiter` in the state unless
//               `complete` is already set (then the waker is dropped and the caller goes on).
//   complete:   the finishing worker sets `complete`; if `join_waiter` was set it takes the
//               waker and wakes it.
//   unregister: (awaiting task destroyed while suspended) clear `join_waiter` unless
//               `complete` is set; whoever clears it owns the waker and drops it.
//   release:    clear `join_interest` and drop the handle's reference (the frame went at
//               completion; an outcome nobody took goes with the header).

#include "join_handle.hpp"

#include <fmt/format.h>


#include "detail/scheduler.hpp"
#include "detail/task_transitions.hpp"

namespace corio::detail {

namespace ts = task_state;

bool join_register(task_header* t, task_header* w) noexcept {
  t->join_waiter = w;
  if (task_transition::join_register(t->state)) return true;
  t->join_waiter = nullptr;  // complete already: the caller goes on
  w->drop_ref();
  return false;
}

void join_unregister(task_header* t) noexcept {
  // Unless complete (then the completer owns the waker), clearing the flag makes it ours.
  if (task_transition::join_unregister(t->state)) std::exchange(t->join_waiter, nullptr)->drop_ref();
}

void join_release(task_header* t) noexcept {
  // One transition drops interest and the handle's reference. If the task has finished, its
  // outcome (taken or not) is destroyed first: the header may outlive the handle (a waker,
  // the registry), the value should not. An exception it holds was observable by the owner
  // of the handle, so it is discarded rather than reported.
  std::uint64_t ns = task_transition::join_release(t->state, [t] { t->result->destroy(t->result_slot()); });
  if (ts::refs(ns) == 0) free_task_header(t, ns);
}

bool join_is_complete(const task_header* t) noexcept {
  return (t->state.load(std::memory_order_acquire) & ts::complete) != 0;
}

void join_check_not_cancelled(const task_header* t) {
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  if (!(s & ts::output))
    throw cancelled(fmt::format("corio: task {} was cancelled before it finished (aborted, or its runtime shut down)", t->id));
}

}  // namespace corio::detail
