#pragma once
// corio::oneshot — a channel for exactly one value, from one sender to one receiver.
//
//   auto [tx, rx] = corio::oneshot::channel<reply>();
//   spawn(handle(request, std::move(tx)));      // ... tx.send(make_reply());
//   reply r = co_await rx;                      // throws channel_closed if tx died unsent
//
// The sender's send() never waits and may be called from any thread; it throws
// send_error<T> (handing the value back) if the receiver is gone or closed (try_send returns
// it in its result instead). Awaiting the receiver returns the value, or throws
// corio::channel_closed if the sender was dropped without sending, or if rx.close() was called
// before a value was sent (it fails at once, never waits for the sender). The value waits in the
// channel until it is received: a receive cancelled after the value arrived leaves it there
// for the next one, and dropping the receiver destroys an unreceived value (exactly once).
// tx.closed() waits until the receiver is gone (to stop work nobody wants any more).
// Cancel safety: both awaitables are cancel-safe — a receive dropped while it waits loses
// nothing (the value stays for the next receive), nor does a dropped closed().
//
// Memory ordering: everything the sender did before send() happens-before the receive
// returning the value. Waiting allocates nothing; the channel is one allocation.

#include <atomic>
#include <coroutine>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "../runtime/detail/context.hpp"
#include "../runtime/error.hpp"
#include "channel_error.hpp"
#include "detail/spin_lock.hpp"
#include "../runtime/detail/wait_queue.hpp"

namespace corio::oneshot {

template <class T>
class sender;
template <class T>
class receiver;

namespace detail {
using namespace corio::detail;

inline constexpr const char* closed_send = "corio::oneshot: send after the receiver was dropped or closed; the value is handed back in this exception";
inline constexpr const char* closed_recv = "corio::oneshot: the sender was dropped without sending a value";
inline constexpr const char* closed_by_receiver = "corio::oneshot: the receiver was closed before a value was sent";

template <class T>
struct state {
  static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                "corio::oneshot: the value type must be nothrow move constructible and destructible");
  spin_lock lock;
  std::optional<T> value;
  bool sender_done = false;   ///< sent, or the sender is gone
  bool receiver_closed = false;
  bool taken = false;  ///< a receive took the value
  waker rx_waker;  ///< a receive waiting for the value (a task or a thread)
  waker tx_waker;  ///< a closed() waiting for the receiver to go
  std::atomic<int> refs{2};

  /// No value can arrive any more: the sender sent, was dropped, or the receiver closed (a
  /// value sent before close() is still there to take).
  bool finished_locked() const noexcept { return sender_done || receiver_closed; }

  /// Takes the value for a receive that found finished_locked(); throws if there is none.
  T take() {
    std::optional<T> v;
    bool by_receiver = false;
    {
      std::lock_guard g(lock);
      if (taken) throw usage_error("corio::oneshot::receiver: the value was already received");
      v.swap(value);
      taken = v.has_value();
      by_receiver = receiver_closed && !sender_done;
    }
    if (!v) throw channel_closed(by_receiver ? closed_by_receiver : closed_recv);
    return std::move(*v);
  }

  void drop_ref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  /// Sets the value (if `v`) or marks the sender gone; wakes the receive. False, with v
  /// untouched, if the receiver is closed (the sender is used up all the same).
  bool finish(T* v) noexcept {
    waker w;
    bool accepted = true;
    {
      std::lock_guard g(lock);
      if (v && receiver_closed)
        accepted = false;
      else if (v)
        value.emplace(std::move(*v));
      sender_done = true;
      w = std::move(rx_waker);
    }
    w.wake();
    return accepted;
  }
  /// Refuses later sends; wakes closed() and a receive still waiting (it then fails at once
  /// unless a value was already sent).
  void close_receiver() noexcept {
    waker tx, rx;
    {
      std::lock_guard g(lock);
      receiver_closed = true;
      tx = std::move(tx_waker);
      rx = std::move(rx_waker);
    }
    tx.wake();
    rx.wake();
  }
};
}  // namespace detail

/// Returned by sender<T>::closed(). Movable until awaited.
template <class T>
class [[nodiscard]] closed_awaitable {
 public:
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  closed_awaitable(closed_awaitable&& o) noexcept : s_(o.s_) {}
  closed_awaitable& operator=(closed_awaitable&&) = delete;
  ~closed_awaitable() {
    if (!waiting_) return;
    std::lock_guard g(s_->lock);
    s_->tx_waker.drop();  // still there unless the receiver already took it to wake us
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    {
      std::lock_guard g(s_->lock);
      if (!s_->receiver_closed) {
        if (s_->tx_waker) throw usage_error("corio::oneshot::sender::closed: already awaited by another task");
        s_->tx_waker = corio::detail::waker(corio::detail::make_waker(h, "corio::oneshot::sender::closed"));
        waiting_ = true;
        return true;
      }
    }
    return corio::detail::resume_or_yield(h, "corio::oneshot::sender::closed");
  }
  void await_resume() noexcept { waiting_ = false; }

 private:
  friend class sender<T>;
  explicit closed_awaitable(detail::state<T>* s) noexcept : s_(s) {}
  detail::state<T>* s_;
  bool waiting_ = false;
};

/// Awaiting a receiver<T> goes through this. Movable until awaited.
template <class T>
class [[nodiscard]] recv_awaitable {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  recv_awaitable(recv_awaitable&& o) noexcept : s_(o.s_) {}
  recv_awaitable& operator=(recv_awaitable&&) = delete;
  ~recv_awaitable() {
    if (!waiting_) return;
    std::lock_guard g(s_->lock);
    s_->rx_waker.drop();  // (empty if the sender took it to wake us: the value stays queued)
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    {
      std::lock_guard g(s_->lock);
      if (!s_->finished_locked()) {
        if (s_->rx_waker) throw usage_error("corio::oneshot::receiver: awaited by two tasks at once");
        s_->rx_waker = corio::detail::waker(corio::detail::make_waker(h, "corio::oneshot::receiver"));
        waiting_ = true;
        return true;
      }
    }
    return corio::detail::resume_or_yield(h, "corio::oneshot::receiver");
  }
  /// The value; throws channel_closed if the sender was dropped without sending or the receiver
  /// was closed with no value sent, usage_error if the value was already received.
  T await_resume() {
    waiting_ = false;
    return s_->take();
  }

 private:
  friend class receiver<T>;
  explicit recv_awaitable(detail::state<T>* s) noexcept : s_(s) {}
  detail::state<T>* s_;
  bool waiting_ = false;
};

/// Sends the one value. Move-only; dropping it unsent makes the receive throw channel_closed.
template <class T>
class sender {
 public:
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  sender(sender&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
  sender& operator=(sender&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  sender(const sender&) = delete;
  sender& operator=(const sender&) = delete;
  ~sender() { reset(); }

  /// Sends `v` (never waits; any thread) and uses the sender up. Throws send_error<T> with the
  /// value if the receiver is gone or closed, usage_error if already used.
  void send(T v) {
    auto r = try_send(std::move(v));
    if (!r) throw send_error<T>(detail::closed_send, std::move(r).value());
  }
  /// As send(), but a closed receiver is reported in the result (with the value).
  try_send_result<T> try_send(T v) {
    if (!s_) throw usage_error("corio::oneshot::sender::send: the sender was already used (or moved from)");
    detail::state<T>* s = std::exchange(s_, nullptr);
    bool ok = s->finish(&v);
    s->drop_ref();
    if (ok) return {};
    return try_send_result<T>(send_status::closed, std::move(v));
  }
  /// True once the receiver is gone or closed (a send would fail).
  bool is_closed() const {
    if (!s_) throw usage_error("corio::oneshot::sender::is_closed: the sender was already used (or moved from)");
    std::lock_guard g(s_->lock);
    return s_->receiver_closed;
  }
  /// Awaitable: completes when the receiver is gone or closed. One task at a time. Cancel-safe:
  /// a dropped wait leaves cleanly and changes nothing.
  closed_awaitable<T> closed() {
    if (!s_) throw usage_error("corio::oneshot::sender::closed: the sender was already used (or moved from)");
    return closed_awaitable<T>(s_);
  }
  /// False once used (sent) or moved from.
  bool valid() const noexcept { return s_ != nullptr; }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel();
  explicit sender(detail::state<T>* s) noexcept : s_(s) {}
  void reset() noexcept {
    if (detail::state<T>* s = std::exchange(s_, nullptr)) {
      s->finish(nullptr);
      s->drop_ref();
    }
  }
  detail::state<T>* s_;
};

/// Receives the one value: `co_await rx`. Move-only; must outlive a pending receive.
template <class T>
class receiver {
 public:
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  receiver(receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  /// Closes the channel and destroys a value that was sent but not received.
  ~receiver() { reset(); }

  ///@{
  /// Awaiting the receiver gives the value; throws channel_closed if the sender was dropped
  /// without sending, usage_error if the value was already received or another task is
  /// awaiting. One task at a time, on any worker.
  ///
  /// **Cancel safety:** cancel-safe: a receive dropped after the value arrived leaves the value
  /// in the channel for the next receive.
  recv_awaitable<T> operator co_await() & { return recv_awaitable<T>(checked("co_await")); }
  recv_awaitable<T> operator co_await() && { return recv_awaitable<T>(checked("co_await")); }
  ///@}

  /// The value if it has arrived; otherwise empty (the sender may still send) or closed.
  try_recv_result<T> try_recv() {
    detail::state<T>* s = checked("try_recv");
    std::lock_guard g(s->lock);
    if (s->value) {
      T v = std::move(*s->value);
      s->value.reset();
      s->taken = true;
      return try_recv_result<T>(std::move(v));
    }
    return try_recv_result<T>(s->finished_locked() ? recv_status::closed : recv_status::empty);
  }
  /// For plain threads: blocks until the value arrives. Throws channel_closed if the sender
  /// was dropped unsent, usage_error on a worker thread.
  T blocking_recv() {
    corio::detail::check_may_block("corio::oneshot::receiver::blocking_recv");
    detail::state<T>* s = checked("blocking_recv");
    corio::detail::thread_parker parker;
    bool wait = false;
    {
      std::lock_guard g(s->lock);
      if (!s->finished_locked()) {
        if (s->rx_waker) throw usage_error("corio::oneshot::receiver: awaited by two tasks at once");
        s->rx_waker = corio::detail::waker(&parker);
        wait = true;
      }
    }
    if (wait) parker.park();
    return s->take();
  }
  /// Refuses the value from now on (a later send fails and hands it back); a value already
  /// sent can still be received. With no value sent, a receive (waiting or later) fails at once
  /// with channel_closed, as try_recv reports closed.
  void close() { checked("close")->close_receiver(); }
  /// False once moved from.
  bool valid() const noexcept { return s_ != nullptr; }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel();
  explicit receiver(detail::state<T>* s) noexcept : s_(s) {}
  detail::state<T>* checked(const char* what) const {
    if (!s_) [[unlikely]] corio::detail::throw_usage_error("corio::oneshot::receiver::", what, ": the receiver was moved from");
    return s_;
  }
  void reset() noexcept {
    if (detail::state<T>* s = std::exchange(s_, nullptr)) {
      s->close_receiver();
      std::optional<T> doomed;
      {
        std::lock_guard g(s->lock);
        doomed.swap(s->value);
      }
      doomed.reset();  // destroyed outside the lock
      s->drop_ref();
    }
  }
  detail::state<T>* s_;
};

/// A new oneshot channel.
template <class T>
std::pair<sender<T>, receiver<T>> channel() {
  auto* s = new detail::state<T>();
  return {sender<T>(s), receiver<T>(s)};
}

}  // namespace corio::oneshot
