#pragma once
// The shared state of an mpsc channel (corio::mpsc), bounded or not.
//
// One spin lock guards everything below it: the message ring, the count of reserved slots,
// the queue of senders waiting for room and the queue of receives waiting for a message.
// Invariants (under the lock):
//  - room exists iff size + reserved < cap (cap = SIZE_MAX for unbounded channels);
//  - a receive waits only while the ring is empty, so a send that finds one hands its value
//    straight into the receive's node (no trip through the ring);
//  - a sender waits only while there is no room; whenever room appears (a message taken, a
//    permit dropped) it goes at once to the head waiting sender, whose value is moved into
//    the ring by whoever made the room (or which is counted as reserved, for reserve()). So
//    waiting senders never race newcomers for room: FIFO, and per-sender order holds.
// Closing: close() (or the receiver going away) sets closed_: waiting and later sends fail
// with their value handed back; outstanding permits may still send while the receiver exists.
// A receive returns "no more" once the ring is empty and either every sender (handles and
// permits, counted in senders_) is gone, or the channel is closed with no reserved slot left.
//
// Both queues are wait queues (runtime/detail/wait_queue.hpp). A send is released `woken` once
// its value is in (it owns nothing more), a reservation `handed` its slot, either `closed`; a
// receive is released `handed` a message, or `woken` with none (the channel is finished). A
// node handed something whose task was cancelled before resuming is undone by its owner's
// destructor (abandon_*): a reservation is released, a delivered message goes back to the
// front of the ring. Nothing handed over is ever lost.
//
// Lifetime: refs_ counts the handles (senders, receiver, permits); the last one deletes the
// state. Messages are destroyed outside the lock (their destructors may use the channel).

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "../../runtime/detail/context.hpp"
#include "../channel_error.hpp"
#include "ring.hpp"
#include "../../runtime/detail/atomic.hpp"
#include "spin_lock.hpp"
#include "../../runtime/detail/wait_queue.hpp"

namespace corio::detail::mpsc {

inline constexpr std::size_t unbounded_capacity = std::numeric_limits<std::size_t>::max();

template <class T>
class chan {
  static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                "corio::mpsc: the message type must be nothrow move constructible and destructible");

 public:
  struct send_node : wait_node {
    T* value = nullptr;  ///< the message to move into the channel; null for a reservation
  };
  struct recv_node : wait_node {
    std::optional<T> value;  ///< once released: the message, or empty for "closed and drained"
  };
  /// How an operation that may wait went: completed, refused (closed), or queued.
  enum class outcome : std::uint8_t { done, closed, queued };

  // The ring starts small for unbounded channels, at up to 256 slots for bounded ones, and
  // grows by doubling (under the lock; running out of memory there terminates).
  explicit chan(std::size_t cap) : cap_(cap), buf_(cap == unbounded_capacity ? 8 : (cap < 256 ? cap : 256)) {}
  chan(const chan&) = delete;
  chan& operator=(const chan&) = delete;

  // --- lifetime ---------------------------------------------------------------------------
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void drop_ref() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  /// Another sender (or permit), made from a live one: the count is never zero here.
  void add_sender() noexcept {
    senders_.fetch_add(1, std::memory_order_relaxed);
    add_ref();
  }
  /// A sender (or permit) goes away; the last one ends every receive that waits.
  void drop_sender() noexcept {
    if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) finish_receives();
    drop_ref();
  }

  std::size_t capacity() const noexcept { return cap_; }

  // --- sending ----------------------------------------------------------------------------
  /// Sends `v` (moved from only on success), or queues `n` (pointing at v) to wait for room.
  outcome send(send_node& n, T& v, std::coroutine_handle<> h, thread_parker* parker, const char* what) {
    waker rx;
    {
      std::lock_guard g(lock_);
      if (closed_) return outcome::closed;
      if (!deliver_locked(v, rx)) {
        n.value = &v;
        send_waiters_.enqueue(n, waker::for_waiter(h, parker, what));
        return outcome::queued;
      }
    }
    rx.wake();
    return outcome::done;
  }

  /// Sends `v` if there is room now; `v` is moved from only when the result is `sent`.
  send_status try_send(T& v) {
    waker rx;
    {
      std::lock_guard g(lock_);
      if (closed_) return send_status::closed;
      if (!deliver_locked(v, rx)) return send_status::full;
    }
    rx.wake();
    return send_status::sent;
  }

  /// Reserves one slot, or queues `n` (value null) to wait for one.
  outcome reserve(send_node& n, std::coroutine_handle<> h, thread_parker* parker, const char* what) {
    std::lock_guard g(lock_);
    if (closed_) return outcome::closed;
    if (has_room_locked()) {
      ++reserved_;
      return outcome::done;
    }
    n.value = nullptr;
    send_waiters_.enqueue(n, waker::for_waiter(h, parker, what));
    return outcome::queued;
  }
  send_status try_reserve() noexcept {
    std::lock_guard g(lock_);
    if (closed_) return send_status::closed;
    if (!has_room_locked()) return send_status::full;
    ++reserved_;
    return send_status::sent;
  }

  /// Sends `v` into a reserved slot (the reservation is used up). Returns false, with `v`
  /// untouched and the reservation released, if the receiver is gone.
  bool send_reserved(T& v) {
    waker_batch wake;  // woken on return, unlocked
    std::lock_guard g(lock_);
    --reserved_;
    if (!receiver_alive_) return false;
    if (recv_node* r = recv_waiters_.front()) {
      r->value.emplace(std::move(v));
      wake.push(complete_recv_locked(*r));
      refill_locked(wake);  // handed straight to a receive: the reserved slot is free again
    } else {
      buf_.emplace_back(std::move(v));  // into the slot the reservation held
    }
    return true;
  }

  /// Gives back an unused reservation: the slot goes to the head waiting sender, if any.
  void release_reservation() noexcept {
    waker_batch wake;
    std::lock_guard g(lock_);
    --reserved_;
    refill_locked(wake);
    waker w;
    finish_receive_if_closed_locked(w);
    if (w) wake.push(std::move(w));
  }

  /// The owner of `n` goes away (its task was cancelled): leave the queue, or give back a
  /// reservation granted to it.
  void abandon_send(send_node& n) noexcept {
    wait_state s;
    {
      std::lock_guard g(lock_);
      s = send_waiters_.abandon(n);
    }
    if (s == wait_state::handed) release_reservation();
  }

  // --- receiving --------------------------------------------------------------------------
  /// Takes the next message into n.value (done), finds the channel finished (done, n.value
  /// empty), or queues `n`.
  outcome recv(recv_node& n, std::coroutine_handle<> h, thread_parker* parker, const char* what) {
    waker_batch wake;
    {
      std::lock_guard g(lock_);
      if (!take_locked(n, wake)) {
        recv_waiters_.enqueue(n, waker::for_waiter(h, parker, what));
        return outcome::queued;
      }
    }
    wake.wake_all();
    return outcome::done;
  }

  /// recv without waiting: true when `n` is done (a message, or the channel finished); false
  /// leaves `n` idle and the channel unchanged.
  bool try_recv_into(recv_node& n) {
    waker_batch wake;
    {
      std::lock_guard g(lock_);
      if (!take_locked(n, wake)) return false;
    }
    wake.wake_all();
    return true;
  }

  try_recv_result<T> try_recv() {
    waker_batch wake;
    std::optional<T> v;
    {
      std::lock_guard g(lock_);
      if (buf_.empty()) return try_recv_result<T>(finished_locked() ? recv_status::closed : recv_status::empty);
      v.emplace(std::move(buf_.front()));
      buf_.pop_front();
      refill_locked(wake);
    }
    wake.wake_all();
    return try_recv_result<T>(std::move(*v));
  }

  /// The owner of `n` goes away before using what it was given: leave the queue, or put a
  /// delivered message back at the front (or hand it to another waiting receive).
  void abandon_recv(recv_node& n) noexcept {
    waker w;
    {
      std::lock_guard g(lock_);
      if (recv_waiters_.abandon(n) != wait_state::handed || !receiver_alive_) return;
      if (recv_node* r = recv_waiters_.front()) {
        r->value.emplace(std::move(*n.value));
        w = complete_recv_locked(*r);
      } else {
        buf_.push_front(std::move(*n.value));  // may grow the ring past cap: see ring.hpp
      }
      n.value.reset();
    }
    w.wake();
  }

  /// No new sends (waiting ones fail with their value back); what is queued can be received.
  void close() noexcept {
    std::unique_lock l(lock_);
    closed_ = true;
    send_waiters_.release_while(l, [](send_node&) { return wait_state::closed; });
    l.lock();
    waker w;
    finish_receive_if_closed_locked(w);
    l.unlock();
    w.wake();
  }

  /// The receiver goes away: close, then destroy every queued message (outside the lock).
  void receiver_gone() noexcept {
    close();
    ring<T> doomed;
    {
      std::lock_guard g(lock_);
      receiver_alive_ = false;
      doomed = std::move(buf_);
    }
  }

  std::size_t size() noexcept {
    std::lock_guard g(lock_);
    return buf_.size();
  }
  /// The senders' view: the receiver closed the channel or is gone.
  bool is_closed() noexcept {
    std::lock_guard g(lock_);
    return closed_;
  }
  /// The receiver's view: closed, or every sender (and permit) is gone, so nothing new can
  /// arrive (queued messages may remain).
  bool is_closed_for_receiver() noexcept {
    std::lock_guard g(lock_);
    return closed_ || senders_.load(std::memory_order_relaxed) == 0;
  }
  /// Room left for sends now (cap - queued - reserved); SIZE_MAX for unbounded channels.
  std::size_t room() noexcept {
    std::lock_guard g(lock_);
    if (cap_ == unbounded_capacity) return cap_;
    std::size_t used = buf_.size() + reserved_;
    return used < cap_ ? cap_ - used : 0;
  }

 private:
  ~chan() = default;

  bool has_room_locked() const noexcept { return buf_.size() + reserved_ < cap_; }

  /// Nothing is queued and nothing can be sent any more.
  bool finished_locked() const noexcept {
    return senders_.load(std::memory_order_relaxed) == 0 || (closed_ && reserved_ == 0);
  }

  /// Puts `v` with a waiting receive or in the ring; false if there is no room.
  bool deliver_locked(T& v, waker& rx) {
    if (recv_node* r = recv_waiters_.front()) {
      r->value.emplace(std::move(v));
      rx = complete_recv_locked(*r);
      return true;
    }
    if (!has_room_locked()) return false;
    buf_.emplace_back(std::move(v));
    return true;
  }

  /// Releases the head receive `r` (handed its value, or woken with none: finished).
  [[nodiscard]] waker complete_recv_locked(recv_node& r) noexcept {
    return recv_waiters_.release(r, r.value ? wait_state::handed : wait_state::woken);
  }

  /// Completes `n` (done) with the next message, or empty when nothing more can come; false
  /// when it would have to wait.
  bool take_locked(recv_node& n, waker_batch& wake) {
    if (!buf_.empty()) {
      n.value.emplace(std::move(buf_.front()));
      buf_.pop_front();
      refill_locked(wake);
    } else if (!finished_locked()) {
      return false;
    }
    n.settle_self(n.value ? wait_state::handed : wait_state::woken);
    return true;
  }

  /// Room appeared: it goes to the waiting senders in order (a value moves into the ring, or
  /// straight to a waiting receive; a reserve is counted as reserved) while room lasts. Each
  /// event frees one slot and a hand-off to a receive uses none, so a few wakers at most.
  void refill_locked(waker_batch& wake) noexcept {
    while (!send_waiters_.empty() && has_room_locked() && wake.size() + 2 <= waker_batch::capacity) {
      send_node& s = *send_waiters_.front();
      if (!s.value) {
        ++reserved_;
      } else if (recv_node* r = recv_waiters_.front()) {
        r->value.emplace(std::move(*s.value));
        wake.push(complete_recv_locked(*r));
      } else {
        buf_.emplace_back(std::move(*s.value));
      }
      // A reservation is handed its slot; a send owns nothing any more.
      wake.push(send_waiters_.release(s, s.value ? wait_state::woken : wait_state::handed));
    }
  }

  /// A closed channel whose last reservation just went: a waiting receive learns it is over.
  void finish_receive_if_closed_locked(waker& w) noexcept {
    if (!buf_.empty() || !finished_locked()) return;
    if (recv_node* r = recv_waiters_.front()) w = complete_recv_locked(*r);
  }

  /// The last sender is gone: every waiting receive (the ring is empty) ends.
  void finish_receives() noexcept {
    std::unique_lock l(lock_);
    recv_waiters_.release_while(l, [](recv_node&) { return wait_state::woken; });
  }

  const std::size_t cap_;
  spin_lock lock_;
  ring<T> buf_;
  std::size_t reserved_ = 0;
  bool closed_ = false;
  bool receiver_alive_ = true;
  wait_queue<send_node> send_waiters_;
  wait_queue<recv_node> recv_waiters_;
  atomic<std::size_t> senders_{1};
  atomic<std::size_t> refs_{2};  // the first sender and the receiver
};

}  // namespace corio::detail::mpsc
