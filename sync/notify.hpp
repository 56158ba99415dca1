#pragma once
// corio::notify — wake one waiting task, or all of them, without passing data.
//
//   co_await n.notified();     // waits for a notification
//   n.notify_one();            // wakes the longest waiter, or stores one permit if none waits
//   n.notify_all();            // wakes every task waiting now; stores nothing
//
// Semantics follow Tokio's Notify: at most one permit is stored, and notified() consumes it
// without waiting. A notified() awaitable created before a notify_all() completes at once when
// awaited after it (the call is remembered by generation), so "create, check condition, await"
// does not miss a notify_all in between. If a task woken by notify_one is aborted before it
// resumes, the notification passes on to the next waiter (or becomes the permit): none is lost.
//
// Fairness: waiters are woken in FIFO order. Memory ordering: everything the notifying thread
// did before notify_one/notify_all happens-before the woken task's notified() returns.
// Waiting allocates nothing: the waiter node lives in the awaiting frame; notifying allocates
// nothing either. Any thread may notify; notified() must be awaited in a task. A notify must
// outlive its waiters (and so the runtime, if an aborted waiter may still be parked on it at
// shutdown: README, "What must outlive the runtime").
//
// Cancel safety: notified() is cancel-safe. Dropped while it waits, it leaves the queue; dropped
// after notify_one() chose it but before it resumed, it passes the notification on.

#include <coroutine>
#include <cstdint>

#include "../runtime/detail/export.hpp"
#include "../runtime/detail/wait_queue.hpp"
#include "detail/spin_lock.hpp"

namespace corio {

class notify;

/// Returned by notify::notified(). Remembers the notify_all() generation it was created in
/// (see above). Movable until awaited.
class [[nodiscard]] CORIO_API notified_awaitable {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  notified_awaitable(notified_awaitable&& o) noexcept : n_(o.n_) { node_.generation = o.node_.generation; }
  notified_awaitable& operator=(notified_awaitable&&) = delete;
  ~notified_awaitable();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() noexcept { node_.consume(); }

 private:
  friend class notify;
  /// Its wait (runtime/detail/wait_queue.hpp): released `handed` by notify_one (passed on if
  /// dropped before resuming), `woken` by notify_all.
  struct waiter : detail::wait_node {
    std::uint64_t generation = 0;  ///< notify_all() calls before this awaitable was created
  };
  notified_awaitable(notify& n, std::uint64_t generation) noexcept : n_(&n) { node_.generation = generation; }

  notify* n_;
  waiter node_;
};

/// Wakes waiting tasks without passing data (see above). notify_one/notify_all may be called
/// from any thread; any number of tasks may wait at once.
class CORIO_API notify {
 public:
  /// No permit stored, nobody waiting.
  notify() = default;
  notify(const notify&) = delete;
  notify& operator=(const notify&) = delete;

  /// Wakes the longest-waiting task, or stores a permit (at most one) if none is waiting.
  void notify_one() noexcept;
  /// Wakes every task waiting now (and every notified() created before this call). Allocates
  /// nothing, so it cannot fail.
  void notify_all() noexcept;
  /// Awaitable that completes at the next notification (or at once, consuming a permit).
  /// Any task on any worker; never throws but corio::usage_error (outside a task).
  ///
  /// **Cancel safety:** cancel-safe: dropped while waiting it leaves the queue and consumes
  /// nothing; a notify_one that had already picked it passes on to the next waiter (or becomes
  /// the stored permit), so no notification is lost.
  notified_awaitable notified() noexcept;

 private:
  friend class notified_awaitable;
  using waiter = notified_awaitable::waiter;
  void abandon(waiter& w) noexcept;

  detail::spin_lock lock_;
  detail::wait_queue<waiter> queue_;
  std::uint64_t generation_ = 0;
  bool permit_ = false;
};

}  // namespace corio
