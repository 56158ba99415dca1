#pragma once
// The transitions of a task's state word (task_header.hpp), without their side effects.
//
// Each function is one step of the protocol: it reads the state word, decides the new state
// with a CAS loop, and returns what the caller must do next (queue the task, cancel it, free
// the header, wake the joiner...). The callers (scheduler.cpp, join_handle.cpp) do those
// things; tests/model/task_state_model.cpp runs the same functions under the model checker,
// which is why they take the word through the atomics shim and touch nothing else. The joiner's
// registration of its waker (`join_waiter`) is the join slot's protocol, shared with blocking
// jobs: join_slot.hpp.
//
// Every transition is an acq_rel RMW (acquire on failure): fields a party writes before its
// transition are visible to whoever acts on the state it publishes.

#include <cstdint>

#include "atomic.hpp"
#include "task_header.hpp"

namespace corio::detail::task_transition {

using word = atomic<std::uint64_t>;
namespace ts = task_state;

inline constexpr auto acq_rel = std::memory_order_acq_rel;
inline constexpr auto acquire = std::memory_order_acquire;

struct wake_result {
  bool push;            ///< the caller must queue the task (the waker's ref became the queue's claim)
  bool free;            ///< the waker's reference was the last: free the header with `state`
  std::uint64_t state;  ///< the state after the transition
};

/// wake(): consume a waker's reference; set `notified` unless the task is complete or already
/// notified. Push only if it was neither running nor notified (a running task is re-queued by
/// its worker when the poll ends).
inline wake_result wake(word& state) noexcept {
  std::uint64_t s = state.load(acquire);
  for (;;) {
    bool push = !(s & (ts::complete | ts::notified | ts::running));
    std::uint64_t ns = (s & (ts::complete | ts::notified)) ? s - ts::ref_one : (s | ts::notified) - ts::ref_one;
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire))
      return {push, !push && ts::refs(ns) == 0, ns};  // a push: the owner reference keeps t alive
  }
}

/// abort_task(): set `cancelled` (once, and never on a complete task) and `notified` if nobody
/// will look at the task otherwise. True: the caller must queue it.
inline bool abort(word& state) noexcept {
  std::uint64_t s = state.load(acquire);
  for (;;) {
    if (s & (ts::complete | ts::cancelled)) return false;
    bool push = !(s & (ts::running | ts::notified));
    std::uint64_t ns = s | ts::cancelled | (push ? ts::notified : 0);
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire)) return push;
  }
}

/// worker::poll, first step: notified -> running. Spawned or yielded tasks are queued `running`
/// already: no transition needed. Returns the state before the step (the caller cancels the
/// task instead of resuming it if `cancelled` is set there).
inline std::uint64_t begin_poll(word& state) noexcept {
  std::uint64_t s = state.load(acquire);
  while (s & ts::notified || !(s & ts::running)) {
    std::uint64_t ns = (s & ~ts::notified) | ts::running;
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire)) break;
  }
  return s;
}

/// What a worker does with a task whose poll ended without completing it.
enum class after_poll : std::uint8_t {
  cancel,   ///< aborted while it ran and nobody queued it: cancel it now (still `running`)
  requeue,  ///< push it to the run queue (still or again `running`/`notified`)
  idle,     ///< it waits for a wake; the worker lets go of it
};

/// worker::release_running: the poll ended with the task suspended. A task that asked to yield
/// is re-queued by itself: it stays `running` (no waker is out), unless aborted. Otherwise
/// drop `running`; re-queue if woken meanwhile.
inline after_poll release_running(word& state, bool yielded) noexcept {
  std::uint64_t s = state.load(acquire);
  if (yielded) return (s & ts::cancelled) ? after_poll::cancel : after_poll::requeue;
  for (;;) {
    if ((s & ts::cancelled) && !(s & ts::notified)) return after_poll::cancel;
    std::uint64_t ns = s & ~ts::running;
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire))
      return (ns & ts::notified) ? after_poll::requeue : after_poll::idle;
  }
}

/// worker::park_after_hook: a cancel hook asked to wait for its operation; drop `running`
/// (the hook's waker will queue the task). True: it was woken meanwhile, re-queue it.
inline bool park_after_hook(word& state) noexcept {
  std::uint64_t s = state.load(acquire);
  for (;;) {
    std::uint64_t ns = s & ~ts::running;
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire)) return (ns & ts::notified) != 0;
  }
}

/// scheduler::complete: the root finished (its frame already gone if it has a result slot).
/// Sets complete | released, and `output` when a handle will read the slot. Returns the new
/// state: the caller wakes the joiner if `join_waiter` is set, reports the outcome if
/// `join_interest` is not, then drops the owner's reference.
inline std::uint64_t complete(word& state, bool has_result_slot) noexcept {
  std::uint64_t s = state.load(acquire);
  std::uint64_t ns;
  for (;;) {
    ns = (s & ~(ts::running | ts::notified)) | ts::complete | ts::released;
    if (has_result_slot && (s & ts::join_interest)) ns |= ts::output;  // for the handle
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire)) return ns;
  }
}

/// scheduler::finish_cancelled: the frame of a cancelled task has been destroyed. Returns the
/// new state (the caller wakes the joiner if `join_waiter` is set, then drops the owner's ref).
inline std::uint64_t finish_cancelled(word& state) noexcept {
  std::uint64_t s = state.load(acquire);
  std::uint64_t ns;
  for (;;) {
    ns = (s & ~(ts::running | ts::notified)) | ts::complete | ts::released | ts::cancelled;
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire)) return ns;
  }
}

/// task_header::drop_ref: true when it was the last reference (free the header with `prev`).
inline bool drop_ref(word& state, std::uint64_t& prev) noexcept {
  prev = state.fetch_sub(ts::ref_one, acq_rel);
  return ts::refs(prev) == 1;
}

/// join_release: one transition drops `join_interest` and the handle's reference. If the slot
/// holds an outcome (`output`, set once by completion, cleared only here), `destroy_output()`
/// runs first, once, and `output` is cleared with the same transition. Returns the new state;
/// the caller frees the header when its count is zero.
template <class DestroyOutput>
std::uint64_t join_release(word& state, DestroyOutput&& destroy_output) noexcept {
  std::uint64_t s = state.load(acquire);
  std::uint64_t ns;
  bool destroyed = false;
  for (;;) {
    if ((s & ts::output) && !destroyed) {
      destroy_output();
      destroyed = true;
    }
    ns = (s & ~(ts::join_interest | (destroyed ? ts::output : 0))) - ts::ref_one;
    if (state.compare_exchange_weak(s, ns, acq_rel, acquire)) return ns;
  }
}

}  // namespace corio::detail::task_transition
