// The join side of the task state machine (task_header.hpp).
//
//   register:   store the waker in `join_waiter`, then set `join_waiter` in the state unless
//               `complete` is already set (then the waker is dropped and the caller goes on).
//   complete:   the finishing worker sets `complete`; if `join_waiter` was set it takes the
//               waker and wakes it.
//   unregister: (awaiting task destroyed while suspended) clear `join_waiter` unless
//               `complete` is set; whoever clears it owns the waker and drops it.
//   release:    clear `join_interest`; if the task has completed and its frame still exists,
//               the handle is the last reader and destroys it.

#include "join_handle.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "detail/frame_alloc.hpp"
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
  // One transition: drop interest and the handle's reference; if the task finished and its
  // frame still exists, keep the reference until the frame is gone.
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  std::uint64_t ns;
  bool release_frame;
  for (;;) {
    release_frame = (s & ts::complete) && !(s & ts::released);
    ns = s & ~ts::join_interest;
    if (release_frame)
      ns |= ts::released;
    else
      ns -= ts::ref_one;
    if (t->state.compare_exchange_weak(s, ns, std::memory_order_acq_rel, std::memory_order_acquire)) break;
  }
  if (!release_frame) {
    if (ts::refs(ns) == 0) {
      t->~task_header();
      frame_free(t, sizeof(task_header));
    }
    return;
  }
  // A finished frame only holds the result; the exception (if any) was observable by the
  // owner of the handle, so it is discarded rather than reported. The handle may outlive its
  // runtime, so no hook here: a throwing destructor is printed.
  if (auto root = std::exchange(t->root, {})) {
    try {
      root.destroy();
    } catch (...) {
      std::fputs("corio: a destructor threw while a finished task's frame was released; ignored\n", stderr);
    }
  }
  t->drop_ref();
}

bool join_is_complete(const task_header* t) noexcept {
  return (t->state.load(std::memory_order_acquire) & ts::complete) != 0;
}

void join_check_not_cancelled(const task_header* t) {
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  if (s & ts::released)
    throw cancelled(fmt::format("corio: task {} was cancelled before it finished (aborted, or its runtime shut down)", t->id));
}

}  // namespace corio::detail
