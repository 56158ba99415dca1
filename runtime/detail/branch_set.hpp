#pragma once
// Branches: awaitables driven inside the calling task (corio::select, corio::timeout).
//
// A branch is a coroutine frame (a lazy corio::task with no continuation) that the select's own
// coroutine resumes with a nested `.resume()` on the caller's worker. While it runs,
// `this_thread().task` points at the branch's header, a task_header with the `branch` flag set,
// so every existing awaitable works unchanged inside it: make_waker sets the header's `resume`
// and adds a reference to it, an I/O awaitable installs its cancel hook on it, a yield sets its
// `resume` and `yield_requested`. The header copies the parent's id, spawn site and scheduler,
// so ids (Lamport clock), diagnostics and spawn lineage see the parent task. The budget and the
// transfer count are the parent's: branches interleave on one worker, never in parallel.
//
// One allocation (a branch_set) holds the shared word and the N branch headers; it lives until
// the last reference to any of its headers is gone, so a waker may outlive the select (taken
// out of a wait list under a lock, woken just after the branch was destroyed): such a wake
// only sets a bit nobody reads, and drops its reference.
//
// The word (`ready_`, one atomic u64):
//   bits 0..62  ready: bit i = branch i was woken (bit N: the deadline of a timeout fired)
//   bit  63     parked: the parent is suspended and `token_` holds its waker (one reference)
// Who touches what:
//   - a waker (any thread): CAS sets its bit and clears `parked`; if `parked` was set it owns
//     the token and wakes the parent with it (branch_transition::wake). So the parent is woken
//     once per suspension, never spuriously: corio resumes a coroutine exactly once per wake.
//   - the parent, running: takes the ready bits (take); to suspend it stores its waker in
//     `token_` (plain field), then CAS sets `parked` only if no bit is set (park); if a bit
//     came in first it keeps its token and drops it, and runs the ready branches instead.
//   - the parent's cancel hook (the worker owns the task then): takes the token back if no
//     waker has (unpark), cancels the branches, and parks a fresh token while a branch's
//     cancellation still waits for its operation (an I/O request the kernel owns).
//   - the driver, at the end of the select (release): if an acquire load of every header shows
//     only its own reference, no waker is left (none can be made once the branches are over)
//     and it frees the set at once; otherwise it drops its references and the last one frees.
// Ordering: every step is an acq_rel CAS on the one word. `token_` is written before the
// release of `parked` and read after the acquire that clears it; the branch's `resume` and
// `hook` are written by the branch before its waker is published to the waking thread by the
// primitive's own synchronisation, and read by the parent after it takes the bit (acquire).
// tests/model/branch_model.cpp checks the protocol through the atomics shim.

#include <coroutine>
#include <cstdint>
#include <exception>

#include "atomic.hpp"
#include "export.hpp"
#include "task_header.hpp"

namespace corio::detail {

class branch_set;

/// How the driver handles a branch that is an awaiter driven in place (branch_slot.hpp): no
/// frame of its own, the awaiter lives in the select's frame.
struct direct_ops {
  /// await_ready, then await_suspend(h) if not ready. True: it completed without suspending.
  /// Runs with the branch as the current task, so its waker and cancel hook are the branch's.
  bool (*start)(void* awaiter, std::coroutine_handle<> h);
  /// Destroys the awaiter (at its suspension point, or after its result was taken).
  void (*drop)(void* awaiter) noexcept;
};

/// The identity of one branch while it runs (see above). Plain fields are the driver's.
struct branch_header : task_header {
  std::coroutine_handle<> root;  ///< the branch's frame (a lazy task the driver resumes), null once gone
  branch_set* set = nullptr;
  std::uint32_t index = 0;
  bool live = false;        ///< the frame (`root`), or the direct awaiter, exists
  bool cancelling = false;  ///< its cancel hook was asked and still waits for the operation
  // A direct branch (no frame: `root` stays null).
  const direct_ops* direct = nullptr;
  void* awaiter = nullptr;
  bool started = false;  ///< start() has run: the next time it is run (woken), it has completed
  bool done = false;     ///< it has completed: its result is ready for await_resume
  std::exception_ptr error;  ///< what its start threw (its outcome, then)
};

namespace branch_transition {

using word = atomic<std::uint64_t>;
inline constexpr std::uint64_t parked = std::uint64_t{1} << 63;
inline constexpr std::uint64_t ready_mask = parked - 1;
inline constexpr auto acq_rel = std::memory_order_acq_rel;
inline constexpr auto acquire = std::memory_order_acquire;

/// A waker (or the deadline): set `bit`. True: the parent was parked, the caller now owns the
/// token and must wake it.
inline bool wake(word& w, std::uint64_t bit) noexcept {
  std::uint64_t s = w.load(acquire);
  while (!w.compare_exchange_weak(s, (s | bit) & ~parked, acq_rel, acquire)) {
  }
  return (s & parked) != 0;
}

/// The parent: take the ready bits (leaves `parked` as it is).
inline std::uint64_t take(word& w) noexcept {
  std::uint64_t s = w.load(acquire);
  while ((s & ready_mask) && !w.compare_exchange_weak(s, s & parked, acq_rel, acquire)) {
  }
  return s & ready_mask;
}

/// The parent, its token stored: set `parked` unless a bit is set. True: parked (the token
/// belongs to the first waker now); false: the caller keeps its token.
inline bool park(word& w) noexcept {
  std::uint64_t s = w.load(acquire);
  for (;;) {
    if (s & ready_mask) return false;
    if (w.compare_exchange_weak(s, s | parked, acq_rel, acquire)) return true;
  }
}

/// The parent: clear `parked` if set. True: no waker took the token; it is the caller's again.
inline bool unpark(word& w) noexcept {
  std::uint64_t s = w.load(acquire);
  for (;;) {
    if (!(s & parked)) return false;
    if (w.compare_exchange_weak(s, s & ~parked, acq_rel, acquire)) return true;
  }
}

}  // namespace branch_transition

/// The shared word and the headers of one select's branches, in one allocation.
class branch_set {
 public:
  /// Allocates a set of `n` headers (n <= 62) copying `parent`'s identity, each holding one
  /// reference (the driver's). Throws std::bad_alloc.
  static branch_set* create(std::uint32_t n, task_header* parent);

  branch_header& at(std::uint32_t i) noexcept { return headers()[i]; }
  std::uint32_t size() const noexcept { return n_; }

  /// Marks `bit` ready and wakes the parent if it is parked. Any thread.
  void notify(std::uint64_t bit) noexcept;

  /// Drops the driver's reference to every header; the set frees itself with the last one.
  void release() noexcept;

  branch_transition::word ready_{0};
  task_header* token_ = nullptr;  ///< the parent's waker while `parked` is set

 private:
  friend void branch_free(task_header* t) noexcept;
  explicit branch_set(std::uint32_t n) noexcept : alive_(n), n_(n) {}
  CORIO_API branch_header* headers() noexcept;
  static std::size_t alloc_size(std::uint32_t n) noexcept;

  atomic<std::uint32_t> alive_;  ///< headers with references left
  std::uint32_t n_;
};

/// wake() of a branch header: mark it ready, wake the parent if parked, drop the reference.
void branch_wake(task_header* t) noexcept;
/// free_task_header() of a branch header whose last reference is gone.
void branch_free(task_header* t) noexcept;

}  // namespace corio::detail
