#pragma once
// The join slot: where the one party awaiting a result (a join handle's or a blocking handle's
// awaiter, "the joiner") leaves its waker for the party that publishes the result (the worker
// completing a task, the pool thread finishing a blocking job, "the publisher"). Task headers
// (task_header.hpp) and blocking jobs (blocking_pool.hpp) both keep one; this file is the
// protocol, written once.
//
// A slot is a plain waker field of its owner (task_header::join_waiter, blocking_job's waiter_)
// guarded by three bits of the owner's state word, at the positions task_state gives them (a
// blocking job's word puts its own bits elsewhere):
//   complete      - the result is published. Set once, by the publisher's transition (which may
//                   set other bits of the owner's with it); never cleared.
//   join_waiter   - the field holds a waker (one task reference). Set by `enter` and cleared by
//                   `leave`, both the joiner's and both failing once `complete` is set.
//   join_interest - a handle exists. Cleared once, by the handle's release (detach); the
//                   publisher reads it in the word its transition saw, and if it is clear, it
//                   disposes of an outcome nobody will read (reports an exception).
//
// Who touches the field:
//   register   the joiner stores its waker, then `enter`s. Its acq_rel RMW publishes the
//              store to whoever acquires the word with `join_waiter` set. If `complete` is set
//              already, nobody else saw the waker: the joiner takes it back and drops it.
//   publish    the publisher's transition sets `complete` (an acq_rel RMW); if the word it
//              saw had `join_waiter`, the waker is now the publisher's alone (register and
//              unregister fail from then on): it takes it out and wakes it.
//   unregister the joiner's awaiter is destroyed while suspended (its task was aborted): `leave`
//              clears `join_waiter` unless `complete` is set. Whoever changes the word last,
//              the leaving joiner or the publisher, owns the waker and disposes of it; the
//              acquire half of each RMW orders its read of the field after the joiner's store.
//   detach     the handle goes away after its awaiter (never with a waker registered): it
//              clears `join_interest`, with whatever else its owner's release does.
//
// Memory ordering: acq_rel for every RMW of the protocol (acquire on a failed CAS), so a field
// written before one transition is visible to the party acting on the state it published.
//
// The side effects are templates over the field's accessor (`waker_field` in the runtime) so
// that the models (tests/model/join_slot_model.cpp, task_state_model.cpp) run this very code
// with a race-checked cell as the field; the transitions take the word through the atomics shim.

#include <cstdint>
#include <utility>

#include "atomic.hpp"
#include "task_header.hpp"

namespace corio::detail::join_slot {

using word = atomic<std::uint64_t>;

inline constexpr std::uint64_t complete = task_state::complete;
inline constexpr std::uint64_t join_waiter = task_state::join_waiter;
inline constexpr std::uint64_t join_interest = task_state::join_interest;
inline constexpr std::uint64_t bits = complete | join_waiter | join_interest;

inline constexpr auto acq_rel = std::memory_order_acq_rel;
inline constexpr auto acquire = std::memory_order_acquire;

/// register, after the joiner stored its waker: set `join_waiter` unless `complete` is set.
/// False: complete already; the joiner takes its waker back.
inline bool enter(word& state) noexcept {
  std::uint64_t s = state.load(acquire);
  for (;;) {
    if (s & complete) return false;
    if (state.compare_exchange_weak(s, s | join_waiter, acq_rel, acquire)) return true;
  }
}

/// unregister: clear `join_waiter` unless `complete` is set (then the publisher owns the waker).
/// True: the joiner owns the waker in the field again and disposes of it.
inline bool leave(word& state) noexcept {
  std::uint64_t s = state.load(acquire);
  for (;;) {
    if ((s & complete) || !(s & join_waiter)) return false;
    if (state.compare_exchange_weak(s, s & ~join_waiter, acq_rel, acquire)) return true;
  }
}

/// The runtime's accessor of a slot's field: a plain `task_header*` of the owner.
struct waker_field {
  task_header*& field;
  void put(task_header* w) const noexcept { field = w; }
  task_header* take() const noexcept { return std::exchange(field, nullptr); }
};

/// register: registers waker `w` (one task reference) to be woken at completion. False (and
/// `w` dropped) if the result is published already: the joiner goes on without suspending.
template <class Field>
bool register_waker(word& state, Field field, task_header* w) noexcept {
  field.put(w);
  if (enter(state)) return true;
  field.take()->drop_ref();
  return false;
}

/// unregister: the joiner takes its waker back (and drops it) unless the publisher owns it.
template <class Field>
void unregister_waker(word& state, Field field) noexcept {
  if (leave(state)) field.take()->drop_ref();
}

/// publish, after the transition that set `complete`; `seen` is the word that transition read
/// or wrote (`join_waiter` is the same in both). Wakes the registered joiner, if any.
template <class Field>
void wake_joiner(std::uint64_t seen, Field field) noexcept {
  if (seen & join_waiter) wake(field.take());
}

/// Whether the result is published (acquire: the publisher's writes before it are visible).
inline bool is_complete(const word& state) noexcept { return (state.load(acquire) & complete) != 0; }

}  // namespace corio::detail::join_slot
