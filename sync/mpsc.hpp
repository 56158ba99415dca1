#pragma once
// corio::mpsc — multi-producer, single-consumer channels.
//
//   auto [tx, rx] = corio::mpsc::bounded<job>(64);     // or mpsc::unbounded<job>()
//   auto tx2 = tx;                                     // senders are copyable
//   co_await tx.send(j);                               // waits while the channel is full
//   while (std::optional<job> j = co_await rx.recv()) handle(*j);   // empty: all senders gone
//
//   auto p = co_await tx.reserve();   // wait for room first, then send without waiting:
//   p.send(make_job());               // a cancelled reserve() loses no message
//
// Plain threads use the same channel: tx.blocking_send(v), rx.blocking_recv() (not on a
// worker thread: those throw corio::usage_error there). An unbounded channel's send() never
// waits and may be called from anywhere.
//
// Closing: rx.close(), or dropping the receiver, closes the channel. Sends then fail with
// corio::send_error<T>, which hands the value back (try_send returns it in its result);
// messages already queued can still be received after close(), and are destroyed (each exactly
// once) when the receiver is dropped. When every sender (and permit) is gone, recv() drains
// what is queued and then returns an empty optional.
//
// Fairness: FIFO. Senders waiting for room are served in the order they started waiting,
// before any newcomer, and a waiting sender's message enters the queue the moment room
// appears; so each sender's messages arrive in the order it sent them. Cancellation: a send
// cancelled while it waits for room drops its message (destroyed with the cancelled frame);
// use reserve() when that matters. A cancelled reserve() gives back a slot it was granted; a
// recv() cancelled after a message was handed to it puts the message back at the front.
//
// Memory ordering: everything a sender did before sending happens-before the receiver's
// recv() returning that message. Completing without suspension counts against the task's
// cooperative budget (the task yields once it is spent).
//
// A sender passed to a coroutine by value lives in its frame until the frame is destroyed: for
// a spawned task whose join_handle is kept, that is when the handle is awaited or dropped, not
// when the body returns. Move it into a local (`auto tx = std::move(tx_param);`) if the
// receiver should see it gone as soon as the task is done.
//
// Cost: one short spin-locked section per send and per receive; a bounded channel stores
// messages in a ring that grows to its capacity and no further, so sending allocates nothing
// in the steady state; waiting allocates nothing (the node is in the awaiting frame). The
// message type must be nothrow move constructible. Handles may be used from any worker; a
// sender or receiver object itself must not be used by two threads at once, and must outlive
// the awaitables it returns.

#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

#include "../runtime/detail/context.hpp"
#include "../runtime/error.hpp"
#include "channel_error.hpp"
#include "detail/mpsc_chan.hpp"

namespace corio::mpsc {

template <class T>
class sender;
template <class T>
class unbounded_sender;
template <class T>
class receiver;

namespace detail {
using namespace corio::detail::mpsc;
inline constexpr const char* closed_send = "corio::mpsc: send on a closed channel (the receiver closed it or was dropped); the value is handed back in this exception";
inline constexpr const char* closed_reserve = "corio::mpsc: reserve on a closed channel (the receiver closed it or was dropped)";
// Throws through a [[noreturn]] out-of-line function (runtime/error.hpp says why).
inline void check_handle(const void* c, const char* what) {
  if (!c) [[unlikely]] corio::detail::throw_usage_error(what, ": the handle is empty (moved from)");
}
}  // namespace detail

/// A reserved slot in a bounded channel: send() delivers without waiting. Dropping it unused
/// gives the slot back. Keeps the channel open for receiving like a sender does. Move-only.
template <class T>
class [[nodiscard]] permit {
 public:
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  permit(permit&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
  permit& operator=(permit&& o) noexcept {
    if (this != &o) {
      reset();
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  permit(const permit&) = delete;
  permit& operator=(const permit&) = delete;
  ~permit() { reset(); }

  /// Sends `v` into the reserved slot (never waits; works after close() too). Throws
  /// send_error<T> (with `v`) if the receiver is gone, and usage_error on a used permit.
  void send(T v) {
    detail::check_handle(c_, "corio::mpsc::permit::send");
    chan_type* c = std::exchange(c_, nullptr);
    bool ok = c->send_reserved(v);
    c->drop_sender();
    if (!ok) throw send_error<T>("corio::mpsc::permit::send: the receiver was dropped; the value is handed back in this exception", std::move(v));
  }
  /// False once used or moved from.
  bool valid() const noexcept { return c_ != nullptr; }

 private:
  using chan_type = detail::chan<T>;
  template <class>
  friend class reserve_awaitable;
  friend class sender<T>;
  explicit permit(chan_type* c) noexcept : c_(c) {}
  void reset() noexcept {
    if (chan_type* c = std::exchange(c_, nullptr)) {
      c->release_reservation();
      c->drop_sender();
    }
  }
  chan_type* c_;
};

/// Returned by sender<T>::send(v); holds the value until it is sent. Movable until awaited.
template <class T>
class [[nodiscard]] send_awaitable {
  using chan_type = detail::chan<T>;
  using node = typename chan_type::send_node;
  using wait_state = corio::detail::wait_state;

 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  send_awaitable(send_awaitable&& o) noexcept : c_(o.c_), value_(std::move(o.value_)) {}
  send_awaitable& operator=(send_awaitable&&) = delete;
  ~send_awaitable() {
    if (node_.must_abandon()) c_->abandon_send(node_);  // still queued (a send is never handed anything)
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    switch (c_->send(node_, value_, h, nullptr, "corio::mpsc::sender::send")) {
      case chan_type::outcome::queued:
        return true;
      case chan_type::outcome::closed:
        node_.settle_self(wait_state::closed);
        return false;
      case chan_type::outcome::done:
        break;
    }
    node_.settle_self(wait_state::woken);  // sent
    return corio::detail::resume_or_yield(h, "corio::mpsc::sender::send");
  }
  /// Throws send_error<T> (carrying the value) if the channel was closed.
  void await_resume() {
    wait_state s = node_.outcome();
    node_.consume();
    if (s == wait_state::closed) throw send_error<T>(detail::closed_send, std::move(value_));
  }

 private:
  friend class sender<T>;
  send_awaitable(chan_type* c, T&& v) noexcept : c_(c), value_(std::move(v)) {}
  chan_type* c_;
  T value_;
  node node_;
};

/// Returned by sender<T>::reserve(). Movable until awaited.
template <class T>
class [[nodiscard]] reserve_awaitable {
  using chan_type = detail::chan<T>;
  using node = typename chan_type::send_node;
  using wait_state = corio::detail::wait_state;

 public:
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  reserve_awaitable(reserve_awaitable&& o) noexcept : c_(o.c_) {}
  reserve_awaitable& operator=(reserve_awaitable&&) = delete;
  ~reserve_awaitable() {
    if (node_.must_abandon()) c_->abandon_send(node_);  // queued, or handed a slot: give it back
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    switch (c_->reserve(node_, h, nullptr, "corio::mpsc::sender::reserve")) {
      case chan_type::outcome::queued:
        return true;
      case chan_type::outcome::closed:
        node_.settle_self(wait_state::closed);
        return false;
      case chan_type::outcome::done:
        break;
    }
    node_.settle_self(wait_state::handed);  // the slot is ours
    return corio::detail::resume_or_yield(h, "corio::mpsc::sender::reserve");
  }
  /// Throws channel_closed if the channel was closed.
  permit<T> await_resume() {
    wait_state s = node_.outcome();
    node_.consume();
    if (s == wait_state::closed) throw channel_closed(detail::closed_reserve);
    c_->add_sender();
    return permit<T>(c_);
  }

 private:
  friend class sender<T>;
  explicit reserve_awaitable(chan_type* c) noexcept : c_(c) {}
  chan_type* c_;
  node node_;
};

/// Returned by receiver<T>::recv(). Movable until awaited.
template <class T>
class [[nodiscard]] recv_awaitable {
  using chan_type = detail::chan<T>;
  using node = typename chan_type::recv_node;

 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;

  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  recv_awaitable(recv_awaitable&& o) noexcept : c_(o.c_) {}
  recv_awaitable& operator=(recv_awaitable&&) = delete;
  ~recv_awaitable() {
    if (node_.must_abandon()) c_->abandon_recv(node_);  // queued, or handed a message: put it back
  }

  /// For select/timeout: completes the receive now if a message is there (or the channel is
  /// finished), for await_resume to return; false changes nothing.
  bool corio_try_complete() { return c_->try_recv_into(node_); }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (c_->recv(node_, h, nullptr, "corio::mpsc::receiver::recv") == chan_type::outcome::queued) return true;
    return corio::detail::resume_or_yield(h, "corio::mpsc::receiver::recv");
  }
  /// The next message, or empty once every sender is gone (or the channel is closed) and
  /// nothing is left.
  std::optional<T> await_resume() noexcept {
    node_.consume();
    return std::move(node_.value);
  }

 private:
  friend class receiver<T>;
  explicit recv_awaitable(chan_type* c) noexcept : c_(c) {}
  chan_type* c_;
  node node_;
};

/// The sending half of a bounded channel. Copyable: every copy is a sender. Copies (and one
/// sender) may be used from any number of tasks and threads at once.
template <class T>
class sender {
  using chan_type = detail::chan<T>;

 public:
  /// Another handle on the same channel (counted: the channel closes when the last one goes).
  sender(const sender& o) noexcept : c_(o.c_) {
    if (c_) c_->add_sender();
  }
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  sender(sender&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  /// Copy-and-swap assignment: this object takes `o`'s channel reference (the old one is released).
  sender& operator=(sender o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  /// The last sender (and permit) going away lets the receiver drain the queue and then see
  /// the end (recv() returns an empty optional).
  ~sender() {
    if (c_) c_->drop_sender();
  }

  /// Awaitable: sends `v`, waiting while the channel is full. Throws send_error<T> (with the
  /// value) if the channel is or becomes closed before the value got in. Any task on any
  /// worker; several senders may send at once.
  ///
  /// **Cancel safety:** not cancel-safe for the value: dropped while waiting for room, the
  /// message is not sent and is destroyed with the awaitable (nothing half-sent reaches the
  /// channel). Use reserve() and then permit::send when the value must not be lost.
  send_awaitable<T> send(T v) {
    detail::check_handle(c_, "corio::mpsc::sender::send");
    return send_awaitable<T>(c_, std::move(v));
  }
  /// Sends `v` if there is room now; otherwise hands it back in the result (full or closed).
  try_send_result<T> try_send(T v) {
    detail::check_handle(c_, "corio::mpsc::sender::try_send");
    send_status s = c_->try_send(v);
    if (s == send_status::sent) return {};
    return try_send_result<T>(s, std::move(v));
  }
  /// Awaitable: waits for room and returns a permit holding it. Throws channel_closed if the
  /// channel is or becomes closed first. Any task on any worker.
  ///
  /// **Cancel safety:** cancel-safe: dropped while waiting it leaves the queue, and a slot it
  /// had already been granted goes back to the channel.
  reserve_awaitable<T> reserve() {
    detail::check_handle(c_, "corio::mpsc::sender::reserve");
    return reserve_awaitable<T>(c_);
  }
  /// A permit if there is room now; empty if the channel is full or closed (is_closed() says
  /// which).
  std::optional<permit<T>> try_reserve() {
    detail::check_handle(c_, "corio::mpsc::sender::try_reserve");
    if (c_->try_reserve() != send_status::sent) return std::nullopt;
    c_->add_sender();
    return permit<T>(c_);
  }
  /// Sends from a plain thread, blocking it while the channel is full. Throws send_error<T>
  /// if the channel is closed, and usage_error on a worker thread.
  void blocking_send(T v) {
    corio::detail::check_may_block("corio::mpsc::sender::blocking_send");
    detail::check_handle(c_, "corio::mpsc::sender::blocking_send");
    typename chan_type::send_node n;
    corio::detail::thread_parker parker;
    auto r = c_->send(n, v, {}, &parker, "corio::mpsc::sender::blocking_send");
    if (r == chan_type::outcome::queued) {
      parker.park();
      if (n.outcome() != corio::detail::wait_state::closed) return;  // sent
    } else if (r == chan_type::outcome::done) {
      return;
    }
    throw send_error<T>(detail::closed_send, std::move(v));
  }

  /// True once the receiver closed the channel or was dropped.
  bool is_closed() const {
    detail::check_handle(c_, "corio::mpsc::sender::is_closed");
    return c_->is_closed();
  }
  /// Room for sends right now (capacity minus queued and reserved).
  std::size_t capacity() const {
    detail::check_handle(c_, "corio::mpsc::sender::capacity");
    return c_->room();
  }
  /// The capacity the channel was created with.
  std::size_t max_capacity() const {
    detail::check_handle(c_, "corio::mpsc::sender::max_capacity");
    return c_->capacity();
  }
  /// False for a moved-from sender.
  bool valid() const noexcept { return c_ != nullptr; }
  /// True if both send into the same channel.
  bool same_channel(const sender& o) const noexcept { return c_ == o.c_; }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> bounded(std::size_t);
  explicit sender(chan_type* c) noexcept : c_(c) {}
  chan_type* c_;
};

/// The sending half of an unbounded channel. Copyable. send() never waits. Safe to use from
/// any number of tasks and threads at once.
template <class T>
class unbounded_sender {
  using chan_type = detail::chan<T>;

 public:
  /// Another handle on the same channel (counted: the channel closes when the last one goes).
  unbounded_sender(const unbounded_sender& o) noexcept : c_(o.c_) {
    if (c_) c_->add_sender();
  }
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  unbounded_sender(unbounded_sender&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  /// Copy-and-swap assignment: this object takes `o`'s channel reference (the old one is released).
  unbounded_sender& operator=(unbounded_sender o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  /// As ~sender(): the last one going away ends the stream once the queue is drained.
  ~unbounded_sender() {
    if (c_) c_->drop_sender();
  }

  /// Queues `v` (never waits; callable from any thread). Throws send_error<T> with the value
  /// if the channel is closed.
  void send(T v) {
    detail::check_handle(c_, "corio::mpsc::unbounded_sender::send");
    if (c_->try_send(v) != send_status::sent) throw send_error<T>(detail::closed_send, std::move(v));
  }
  /// As send(), but reports a closed channel in the result (with the value) instead.
  try_send_result<T> try_send(T v) {
    detail::check_handle(c_, "corio::mpsc::unbounded_sender::try_send");
    send_status s = c_->try_send(v);
    if (s == send_status::sent) return {};
    return try_send_result<T>(s, std::move(v));
  }
  /// True once the receiver is gone or closed the channel (sends would fail).
  bool is_closed() const {
    detail::check_handle(c_, "corio::mpsc::unbounded_sender::is_closed");
    return c_->is_closed();
  }
  /// False for a moved-from sender.
  bool valid() const noexcept { return c_ != nullptr; }
  /// True if both send into the same channel.
  bool same_channel(const unbounded_sender& o) const noexcept { return c_ == o.c_; }

 private:
  template <class U>
  friend std::pair<unbounded_sender<U>, receiver<U>> unbounded();
  explicit unbounded_sender(chan_type* c) noexcept : c_(c) {}
  chan_type* c_;
};

/// The receiving half (of a bounded or unbounded channel). Move-only. Meant for one consumer;
/// receiving from several tasks at once is safe (each message goes to one of them, in the
/// order they started waiting).
template <class T>
class receiver {
  using chan_type = detail::chan<T>;

 public:
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  receiver(receiver&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      reset();
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  /// Closes the channel and destroys every message still queued.
  ~receiver() { reset(); }

  /// Awaitable: the next message; an empty optional once every sender is gone (or the
  /// channel is closed) and the queue is drained. One task at a time (the receiver is not
  /// shared); that task may run on any worker.
  ///
  /// **Cancel safety:** cancel-safe: dropped before it resumed, a message already handed to it
  /// goes back to the front of the queue, so no message is lost or reordered.
  recv_awaitable<T> recv() {
    detail::check_handle(c_, "corio::mpsc::receiver::recv");
    return recv_awaitable<T>(c_);
  }
  /// The next message if one is queued; otherwise says whether more may come (empty) or not
  /// (closed).
  try_recv_result<T> try_recv() {
    detail::check_handle(c_, "corio::mpsc::receiver::try_recv");
    return c_->try_recv();
  }
  /// recv() for plain threads: blocks the thread. Throws usage_error on a worker thread.
  std::optional<T> blocking_recv() {
    corio::detail::check_may_block("corio::mpsc::receiver::blocking_recv");
    detail::check_handle(c_, "corio::mpsc::receiver::blocking_recv");
    typename chan_type::recv_node n;
    corio::detail::thread_parker parker;
    if (c_->recv(n, {}, &parker, "corio::mpsc::receiver::blocking_recv") == chan_type::outcome::queued) parker.park();
    return std::move(n.value);
  }
  /// Refuses further sends (waiting senders get their values back in send_error); queued
  /// messages, and those sent through permits already held, can still be received.
  void close() {
    detail::check_handle(c_, "corio::mpsc::receiver::close");
    c_->close();
  }
  /// Messages queued now.
  std::size_t size() const {
    detail::check_handle(c_, "corio::mpsc::receiver::size");
    return c_->size();
  }
  /// True if no message is queued now.
  bool empty() const { return size() == 0; }
  /// True once close() was called or every sender is gone (queued messages may remain).
  bool is_closed() const {
    detail::check_handle(c_, "corio::mpsc::receiver::is_closed");
    return c_->is_closed_for_receiver();
  }
  /// False for a moved-from receiver.
  bool valid() const noexcept { return c_ != nullptr; }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> bounded(std::size_t);
  template <class U>
  friend std::pair<unbounded_sender<U>, receiver<U>> unbounded();
  explicit receiver(chan_type* c) noexcept : c_(c) {}
  void reset() noexcept {
    if (chan_type* c = std::exchange(c_, nullptr)) {
      c->receiver_gone();
      c->drop_ref();
    }
  }
  chan_type* c_;
};

/// A channel holding at most `capacity` messages (sends wait for room). Throws
/// std::invalid_argument for capacity 0.
template <class T>
std::pair<sender<T>, receiver<T>> bounded(std::size_t capacity) {
  if (capacity == 0) throw std::invalid_argument("corio::mpsc::bounded: the capacity must be at least 1");
  if (capacity == detail::unbounded_capacity)
    throw std::invalid_argument("corio::mpsc::bounded: capacity SIZE_MAX; use mpsc::unbounded");
  auto* c = new detail::chan<T>(capacity);
  return {sender<T>(c), receiver<T>(c)};
}

/// A channel without a capacity limit: sends never wait (memory is the limit).
template <class T>
std::pair<unbounded_sender<T>, receiver<T>> unbounded() {
  auto* c = new detail::chan<T>(detail::unbounded_capacity);
  return {unbounded_sender<T>(c), receiver<T>(c)};
}

}  // namespace corio::mpsc
