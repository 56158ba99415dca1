#pragma once
// corio::cancellation_token — a cancellation signal tasks can check, await, and pass down.
//
//   corio::cancellation_token tok;
//   auto child = tok.child_token();          // cancelled when tok is (not the other way round)
//   spawn(worker(child));                     // worker: co_await child.cancelled(); or polls
//   tok.cancel();                             //   child.is_cancelled()
//
// A token is a cheap handle to shared state: copies observe and cancel the same token.
// cancel() is idempotent, callable from any thread, and permanent; it wakes every task
// waiting in cancelled() (and blocking_wait() threads), then cancels the children, depth first.
// A child made from an already cancelled token starts cancelled.
//
// std::stop_token integration: stop_token() returns a std::stop_token that reports
// stop_requested() once this token is cancelled (its std::stop_callbacks run then), so it can
// be handed to std::jthread-style code; cancellation_token(std::stop_token) makes a token that
// is cancelled when that stop_token's source requests a stop.
//
// Memory ordering: everything done before cancel() happens-before is_cancelled() returning
// true and cancelled() completing. Waiting allocates nothing (the node is in the awaiting
// frame), nor does cancel() (so it cannot fail); creating a token or a child allocates its
// shared state. Cancel safety: cancelled() is cancel-safe — dropped while it waits, it leaves
// the queue and loses nothing (the token's state is unaffected).

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <stop_token>

#include "../runtime/detail/atomic.hpp"
#include "../runtime/detail/export.hpp"
#include "../runtime/detail/wait_queue.hpp"

namespace corio {

namespace detail {
class cancel_state;
}

/// Returned by cancellation_token::cancelled(). Keeps the token's state alive. Movable until
/// awaited.
class [[nodiscard]] CORIO_API cancelled_awaitable {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Its wait (runtime/detail/wait_queue.hpp): released `woken` by cancel().
  using waiter = detail::wait_node;

  /// Waits on the token state `s` (what cancellation_token::cancelled() calls).
  explicit cancelled_awaitable(std::shared_ptr<detail::cancel_state> s) noexcept : s_(std::move(s)) {}
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  cancelled_awaitable(cancelled_awaitable&& o) noexcept : s_(std::move(o.s_)) {}
  cancelled_awaitable& operator=(cancelled_awaitable&&) = delete;
  ~cancelled_awaitable();

  bool await_ready() const noexcept;
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() noexcept { node_.consume(); }

 private:
  std::shared_ptr<detail::cancel_state> s_;
  waiter node_;
};

/// A cancellation signal shared by its copies (see above). Every member is safe to call from
/// any task or thread at once.
class CORIO_API cancellation_token {
 public:
  /// A new, independent token (not cancelled).
  cancellation_token();
  /// A token cancelled when `st`'s stop source requests a stop (at once if it already has).
  explicit cancellation_token(std::stop_token st);

  /// A token cancelled whenever this one is (its own cancel() does not affect this one).
  cancellation_token child_token() const;
  /// Cancels this token and its children. Idempotent; any thread.
  void cancel() const noexcept;
  /// True once cancel() was called on this token or an ancestor (or its stop_token source
  /// requested a stop).
  bool is_cancelled() const noexcept;
  /// Awaitable that completes once the token is cancelled (at once if it is). Any task on any
  /// worker. Cancel-safe: a dropped wait leaves cleanly and changes nothing.
  cancelled_awaitable cancelled() const noexcept { return cancelled_awaitable(s_); }
  /// For plain threads: blocks until the token is cancelled. Throws usage_error on a worker.
  void blocking_wait() const;
  /// A std::stop_token whose stop is requested when this token is cancelled.
  std::stop_token stop_token() const;

  /// True if both are copies of the same token.
  friend bool operator==(const cancellation_token& a, const cancellation_token& b) noexcept { return a.s_ == b.s_; }

 private:
  explicit cancellation_token(std::shared_ptr<detail::cancel_state> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<detail::cancel_state> s_;
};

}  // namespace corio
