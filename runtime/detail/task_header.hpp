#pragma once
// The header of a spawned task: its state word, its coroutine handles and its join slot.
//
// A header is allocated by `spawn` next to (not inside) the root coroutine frame, so it can
// outlive the frame: wakers and join handles keep the header alive with references, while the
// frame is destroyed as soon as the task finishes or is cancelled. The header's block is the
// header, then one word (at `header_room`) that holds the root coroutine's handle while the
// frame lives. A task spawned with a join handle has its result slot in the same place,
// written over that word when the task completes: the worker reads the root handle, moves the
// result (or the exception) out of the promise into the slot and destroys the frame, so the
// task's parameters and everything its frame owned (a channel sender taken by value, a fiber's
// stack) are gone before anyone learns that it finished, as with Tokio. Nobody reads the root
// after completion (`complete` is set only after it), which is what makes the overlap safe.
//
// State word (one atomic u64):
//   bits  0..15  flags (below)
//   bits 16..63  reference count (ref_one = 1 << 16)
// References are held by: the scheduler from spawn until the task completes ("owner"), the
// runtime's task registry (task_registry.hpp) until it sweeps the completed task out, the join
// handle while it exists, and every registered waker (a task parked on a primitive, the timer
// wheel or the reactor). The header is freed when the count reaches zero.
//
// Flags and who sets them:
//   notified  - the task is in a run queue, or will be pushed there by the worker running it.
//               Set by wake()/abort()/spawn(), cleared by the worker that starts running it.
//               While set, nobody else pushes the task: a task is in at most one queue.
//   running   - a worker owns the task: it is executing (or cancelling) it, or the task sits in
//               a run queue because it was just spawned or yielded (it has no waker out then,
//               so nothing but abort can race with it, and the next poll needs no transition).
//               Only the owning worker touches the frame.
//   complete  - the task will never run again (finished, or cancelled and its frame destroyed).
//   cancelled - abort() was requested; the worker destroys the frame at the next poll instead
//               of resuming it (after the task's cancel hook, if any, allows it).
//   join_interest - a join_handle exists (so the task has a result slot). A task that fails
//               with no handle left reports its exception to the runtime's hook instead.
//   join_waiter - `join_waiter` holds a waker (a task ref) to wake at completion, or a join
//               helper's completion_listener (tagged with the low bit, set at spawn).
//               `complete`, `join_interest` and `join_waiter` with the `join_waiter` field are
//               the task's join slot: the protocol of join_slot.hpp, shared with blocking jobs.
//   released  - the root frame has been destroyed.
//   output    - the result slot holds the task's outcome (its value or its exception); absent
//               on a complete task with a slot, it means the task was cancelled.
//   branch    - not a task: the header of a branch of a select or timeout, driven inside its
//               parent task (branch_set.hpp). Set at creation, never changed; wake() and the
//               freeing of the last reference dispatch on it. Only refs are used besides.
//
// Memory ordering: every transition is an acq_rel RMW on `state`; fields written by one party
// before a transition (resume, join_waiter, hook) are read by another after observing it.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <source_location>

#include "export.hpp"

namespace corio::detail {

class scheduler;
struct task_header;

/// Cancellation hook of a suspended task: an awaitable whose operation cannot simply be
/// forgotten (an I/O request the kernel still owns, child tasks that borrow from the frame)
/// installs one while it is suspended. When the task is aborted the worker calls `cancel`
/// instead of destroying the frame right away.
struct cancel_hook {
  /// Start cancelling. Return true if the frame may be destroyed now; return false after
  /// arranging for `self` to be woken (with a waker of your own) once it may, and the worker
  /// will call `cancel` again on that wake.
  virtual bool cancel(task_header* self) noexcept = 0;

  /// Runtime shutdown destroys the frame without asking (every I/O operation has completed by
  /// then): release whatever the completed operation produced that nobody will own now.
  virtual void abandon() noexcept {}

 protected:
  ~cancel_hook() = default;
};

namespace task_state {
inline constexpr std::uint64_t notified = 1u << 0;
inline constexpr std::uint64_t running = 1u << 1;
inline constexpr std::uint64_t complete = 1u << 2;
inline constexpr std::uint64_t cancelled = 1u << 3;
inline constexpr std::uint64_t join_interest = 1u << 4;
inline constexpr std::uint64_t join_waiter = 1u << 5;
inline constexpr std::uint64_t released = 1u << 6;
inline constexpr std::uint64_t output = 1u << 7;
inline constexpr std::uint64_t branch = 1u << 8;
inline constexpr std::uint64_t flag_mask = (1u << 16) - 1;
inline constexpr std::uint64_t ref_one = 1u << 16;
inline constexpr std::uint64_t refs(std::uint64_t s) noexcept { return s >> 16; }
}  // namespace task_state

/// How the outcome of a task of one result type leaves its frame (see above). One constant
/// instance per type (join_handle.hpp); the header points at it.
struct result_ops {
  std::size_t slot_size;  ///< sizeof the slot (an outcome<T>), built at header_room
  /// Constructs the slot from the finished root's promise (moving the value or exception).
  void (*stash)(std::coroutine_handle<> root, void* slot) noexcept;
  /// The exception in a constructed slot (null if the task returned a value).
  std::exception_ptr* (*error)(void* slot) noexcept;
  void (*destroy)(void* slot) noexcept;
};

/// 80 bytes on x86-64 (ten words, a multiple of 16: the word after it is aligned for any
/// result slot; result_slot_of checks).
struct CORIO_API task_header {
  std::atomic<std::uint64_t> state{0};
  std::coroutine_handle<> resume;       ///< innermost suspended coroutine, resumed on the next poll
  task_header* join_waiter = nullptr;   ///< waker (owned ref) of the task awaiting the handle
  scheduler* sched = nullptr;           ///< the runtime that owns the task
  cancel_hook* hook = nullptr;          ///< set by the awaitable the task is suspended in
  /// Unique per runtime. Causally ordered: a task's id is greater than the id of the task that
  /// spawned it (a Lamport clock in the high bits, the spawning worker in the low 12 bits).
  std::uint64_t id = 0;
  const result_ops* result = nullptr;  ///< set for a task spawned with a join handle
  std::source_location where;          ///< where it was spawned (diagnostics; line 0: unknown)
  task_header* registry_next = nullptr;  ///< the task registry's list (task_registry.hpp)
  /// The operation the task last suspended in (make_waker's `what`), for task dumps. Written by
  /// the task's worker, read by a dump from any thread.
  std::atomic<const char*> waiting_on{nullptr};

  /// The word after the header: the root coroutine until the task completes, then the result
  /// slot (constructed once `output` is set). Not for a branch header (branch_set.hpp).
  void* after() noexcept { return reinterpret_cast<char*>(this) + header_room; }
  /// The spawned coroutine (the owning worker, or shutdown, before `complete`).
  std::coroutine_handle<> root_frame() noexcept {
    return *std::launder(static_cast<std::coroutine_handle<>*>(after()));
  }
  void* result_slot() noexcept { return after(); }
  /// The size of the header's block (see above) for a task with these result ops (or none).
  static std::size_t block_size(const result_ops* r) noexcept {
    const std::size_t slot = r ? r->slot_size : 0;
    return header_room + (slot > sizeof(std::coroutine_handle<>) ? slot : sizeof(std::coroutine_handle<>));
  }

  void add_ref() noexcept { state.fetch_add(task_state::ref_one, std::memory_order_relaxed); }
  /// Drops one reference; frees the header when it was the last.
  void drop_ref() noexcept;

  static constexpr std::size_t header_room = 80;
};
static_assert(sizeof(task_header) <= task_header::header_room && task_header::header_room % 16 == 0);

/// Destroys and frees a header whose last reference is gone; `state` is its final state word.
void free_task_header(task_header* t, std::uint64_t state) noexcept;

/// Wakes `t`, consuming one reference (a waker's). Callable from any thread, including
/// threads outside the runtime. Waking a completed task only drops the reference.
CORIO_API void wake(task_header* t) noexcept;

/// Marks `t` cancelled and makes sure a worker will look at it (see the protocol above).
CORIO_API void abort_task(task_header* t) noexcept;

}  // namespace corio::detail
