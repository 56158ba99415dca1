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

namespace corio::detail {

namespace ts = task_state;

bool join_register(task_header* t, task_header* w) noexcept {
  t->join_waiter = w;
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  for (;;) {
    if (s & ts::complete) {
      t->join_waiter = nullptr;
      w->drop_ref();
      return false;
    }
    if (t->state.compare_exchange_weak(s, s | ts::join_waiter, std::memory_order_acq_rel, std::memory_order_acquire))
      return true;
  }
}

void join_unregister(task_header* t) noexcept {
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  for (;;) {
    if ((s & ts::complete) || !(s & ts::join_waiter)) return;  // the completer owns the waker
    if (t->state.compare_exchange_weak(s, s & ~ts::join_waiter, std::memory_order_acq_rel, std::memory_order_acquire)) {
      std::exchange(t->join_waiter, nullptr)->drop_ref();
      return;
    }
  }
}

void join_release(task_header* t) noexcept {
  // One transition drops interest and the handle's reference. If the task has finished, its
  // outcome (taken or not) is destroyed first: the header may outlive the handle (a waker,
  // the registry), the value should not. An exception it holds was observable by the owner
  // of the handle, so it is discarded rather than reported.
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  std::uint64_t ns;
  bool destroyed = false;
  for (;;) {
    if ((s & ts::output) && !destroyed) {  // set once by completion, cleared only here
      t->result->destroy(t->result_slot());
      destroyed = true;
    }
    ns = (s & ~(ts::join_interest | (destroyed ? ts::output : 0))) - ts::ref_one;
    if (t->state.compare_exchange_weak(s, ns, std::memory_order_acq_rel, std::memory_order_acquire)) break;
  }
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
