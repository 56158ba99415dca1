#pragma once
// corio::broadcast — multi-producer, multi-consumer: every receiver gets every message.
//
//   auto [tx, rx1] = corio::broadcast::channel<event>(128);
//   auto rx2 = tx.subscribe();                 // sees messages sent from now on
//   tx.send(e);                                // never waits; copies go to each receiver
//   while (auto e = co_await rx1.recv()) ...   // empty optional: every sender is gone
//
// The channel keeps the last `capacity` messages. A sender never waits: when the buffer is
// full the oldest message is overwritten, and a receiver that had not read it yet is told how
// many it missed by corio::broadcast::lagged (thrown by its next recv/try_recv); it then
// continues from the oldest message still kept. Each receiver gets its own copy (the last
// receiver to read a message gets the stored one, moved), so T must be copyable; each stored
// message is destroyed exactly once (when read by everyone, overwritten, or with the channel).
//
// send() throws send_error<T> (value handed back) when no receiver exists. Senders are
// copyable; receivers are move-only (subscribe() or resubscribe() makes more).
// Fairness: all waiting receivers are woken by each send (in the order they started waiting).
// Memory ordering: everything a sender did before send() happens-before a receiver getting
// that message. Waiting allocates nothing; a cancelled recv leaves cleanly and loses nothing
// (the message stays in the buffer). One std::mutex guards the channel (copies of T are made
// under it, as the slot may be overwritten the moment it is released).

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../runtime/detail/context.hpp"
#include "../runtime/detail/export.hpp"
#include "../runtime/error.hpp"
#include "channel_error.hpp"
#include "../runtime/detail/wait_queue.hpp"

namespace corio::broadcast {

/// A receiver fell behind: `missed()` messages were overwritten before it read them. The
/// receiver has moved on to the oldest message still kept.
class CORIO_API lagged : public std::runtime_error {
 public:
  /// `missed` messages were overwritten before this receiver read them.
  explicit lagged(std::uint64_t missed)
      : std::runtime_error("corio::broadcast: the receiver lagged behind and missed " + std::to_string(missed) +
                           " message(s)"),
        missed_(missed) {}
  /// How many messages this receiver lost.
  std::uint64_t missed() const noexcept { return missed_; }

 private:
  std::uint64_t missed_;
};

template <class T>
class sender;
template <class T>
class receiver;

namespace detail {
using namespace corio::detail;

inline constexpr const char* closed_send = "corio::broadcast::sender::send: no receiver is left; the value is handed back in this exception";

/// A recv waiting for message `waiting_for` (runtime/detail/wait_queue.hpp): released `woken`
/// once it is sent, or when the last sender goes.
struct waiter : wait_node {
  std::uint64_t waiting_for = 0;
};

template <class T>
class chan {
 public:
  struct slot {
    std::uint64_t seq = 0;
    std::size_t unread = 0;  ///< receivers that have yet to read it
    std::optional<T> value;
  };
  enum class status : std::uint8_t { value, empty, closed };

  explicit chan(std::size_t cap) : slots_(cap) {}

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void drop_ref() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void add_sender() noexcept {
    std::lock_guard g(mutex_);
    ++senders_;
  }
  /// The last sender going away ends every waiting receive.
  void drop_sender() noexcept {
    std::unique_lock g(mutex_);
    if (--senders_ != 0) return;
    waiters_.release_while(g, [](waiter&) { return wait_state::woken; });  // newcomers see closed
  }

  /// A new receiver: returns its position, the next message to be sent.
  std::uint64_t subscribe() noexcept {
    std::lock_guard g(mutex_);
    ++receivers_;
    return tail_;
  }
  /// A receiver at `next` goes away: it no longer counts as a reader of the messages it had
  /// not read; those nobody else needs are destroyed (outside the lock, a batch at a time).
  void unsubscribe(std::uint64_t next) noexcept {
    std::uint64_t end = 0;
    bool first = true;
    for (;;) {
      std::optional<T> doomed[16];
      std::size_t n = 0;
      bool done;
      {
        std::lock_guard g(mutex_);
        if (first) {
          --receivers_;
          end = tail_;  // later messages never counted this receiver
          first = false;
        }
        next = std::max(next, oldest_locked());
        for (; next < end && n < 16; ++next) {
          slot& sl = slots_[next % slots_.size()];
          if (--sl.unread == 0) doomed[n++].swap(sl.value);
        }
        done = next >= end;
      }
      if (done) return;
    }
  }

  /// Stores `v` for every receiver; false (v untouched) if there is none.
  bool send(T& v, std::size_t& receivers) {
    std::optional<T> overwritten;  // destroyed last, unlocked
    std::unique_lock g(mutex_);
    if (receivers_ == 0) return false;
    receivers = receivers_;
    slot& sl = slots_[tail_ % slots_.size()];
    overwritten.swap(sl.value);
    sl.value.emplace(std::move(v));
    sl.seq = tail_;
    sl.unread = receivers_;
    ++tail_;
    // Those waiting for a message sent by now (this one, or a later one once relocked).
    waiters_.release_while(g, [this](waiter& w) { return w.waiting_for < tail_ ? wait_state::woken : wait_state::waiting; });
    return true;
  }

  /// Reads the message at `next` into `out` (advancing next). Throws lagged (moving `next` to
  /// the oldest kept message) if it was overwritten.
  status read(std::uint64_t& next, std::optional<T>& out) {
    std::lock_guard g(mutex_);
    return read_locked(next, out);
  }

  /// If a read at `next` would not have to wait, says so (value: something to read or a lag to
  /// report; closed); otherwise queues `w` (empty).
  status check_or_enqueue(std::uint64_t next, waiter& w, std::coroutine_handle<> h, thread_parker* parker,
                          const char* what) {
    std::lock_guard g(mutex_);
    if (next != tail_) return status::value;
    if (senders_ == 0) return status::closed;
    w.waiting_for = next;
    waiters_.enqueue(w, waker::for_waiter(h, parker, what));
    return status::empty;
  }

  void abandon(waiter& w) noexcept {
    std::lock_guard g(mutex_);
    waiters_.abandon(w);
  }

  std::size_t receiver_count() noexcept {
    std::lock_guard g(mutex_);
    return receivers_;
  }
  /// Messages a receiver at `next` has yet to read (lagged ones included).
  std::size_t pending(std::uint64_t next) noexcept {
    std::lock_guard g(mutex_);
    return static_cast<std::size_t>(tail_ - next);
  }

 private:
  ~chan() = default;

  std::uint64_t oldest_locked() const noexcept { return tail_ > slots_.size() ? tail_ - slots_.size() : 0; }

  status read_locked(std::uint64_t& next, std::optional<T>& out) {
    if (next < oldest_locked()) {
      std::uint64_t missed = oldest_locked() - next;
      next = oldest_locked();
      throw lagged(missed);
    }
    if (next == tail_) return senders_ == 0 ? status::closed : status::empty;
    slot& sl = slots_[next % slots_.size()];
    if (sl.unread == 1) {
      out.swap(sl.value);  // the last reader takes the stored message itself
    } else {
      out.emplace(*sl.value);  // may throw: nothing changed then
    }
    --sl.unread;
    ++next;
    return status::value;
  }

  std::mutex mutex_;
  std::vector<slot> slots_;
  std::uint64_t tail_ = 0;  ///< sequence number of the next message
  std::size_t senders_ = 1;
  std::size_t receivers_ = 1;
  wait_queue<waiter> waiters_;
  std::atomic<std::size_t> refs_{2};
};
}  // namespace detail

/// Returned by receiver<T>::recv(). Movable until awaited.
template <class T>
class [[nodiscard]] recv_awaitable {
  using status = typename detail::chan<T>::status;

 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  recv_awaitable(recv_awaitable&& o) noexcept : r_(o.r_) {}
  recv_awaitable& operator=(recv_awaitable&&) = delete;
  ~recv_awaitable() {
    if (node_.must_abandon()) r_->c_->abandon(node_);
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    status s = r_->c_->check_or_enqueue(r_->next_, node_, h, nullptr, "corio::broadcast::receiver::recv");
    if (s == status::empty) return true;
    node_.settle_self(corio::detail::wait_state::woken);  // readable now
    return corio::detail::resume_or_yield(h, "corio::broadcast::receiver::recv");
  }
  /// The next message; empty once every sender is gone and this receiver has read everything.
  /// Throws lagged if messages were overwritten before this receiver read them.
  std::optional<T> await_resume() {
    node_.consume();
    std::optional<T> out;
    r_->c_->read(r_->next_, out);  // read only now: a cancelled recv takes nothing
    return out;
  }

 private:
  friend class receiver<T>;
  explicit recv_awaitable(receiver<T>* r) noexcept : r_(r) {}
  receiver<T>* r_;
  detail::waiter node_;
};

/// Receives every message sent after it was created. Move-only. One receiver object belongs
/// to one task at a time (it holds its read position); give each task its own subscribe().
template <class T>
class receiver {
 public:
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  receiver(receiver&& o) noexcept : c_(std::exchange(o.c_, nullptr)), next_(o.next_) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      reset();
      c_ = std::exchange(o.c_, nullptr);
      next_ = o.next_;
    }
    return *this;
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  ~receiver() { reset(); }

  /// Awaitable: the next message: its value, an empty optional once every sender is gone and
  /// everything was read, or corio::broadcast::lagged if this receiver fell behind by more than
  /// the capacity (it then continues at the oldest message kept). One task at a time per
  /// receiver, on any worker.
  ///
  /// **Cancel safety:** cancel-safe: the message is read only when the task resumes, so a
  /// dropped recv takes nothing; the next recv returns the same message.
  recv_awaitable<T> recv() {
    checked("recv");
    return recv_awaitable<T>(this);
  }
  /// The next message if there is one; throws lagged as recv() does.
  try_recv_result<T> try_recv() {
    std::optional<T> out;
    switch (checked("try_recv")->read(next_, out)) {
      case status::value:
        return try_recv_result<T>(std::move(*out));
      case status::empty:
        return try_recv_result<T>(recv_status::empty);
      case status::closed:
        break;
    }
    return try_recv_result<T>(recv_status::closed);
  }
  /// recv() for plain threads. Throws lagged, and usage_error on a worker thread.
  std::optional<T> blocking_recv() {
    corio::detail::check_may_block("corio::broadcast::receiver::blocking_recv");
    auto* c = checked("blocking_recv");
    detail::waiter w;
    corio::detail::thread_parker parker;
    if (c->check_or_enqueue(next_, w, {}, &parker, "corio::broadcast::receiver::blocking_recv") == status::empty)
      parker.park();
    std::optional<T> out;
    c->read(next_, out);
    return out;
  }
  /// A new receiver of the same channel, starting with the next message sent.
  receiver resubscribe() const {
    auto* c = checked("resubscribe");
    c->add_ref();
    return receiver(c, c->subscribe());
  }
  /// Messages sent that this receiver has not read yet (including any it has lagged behind on).
  std::size_t size() const { return checked("size")->pending(next_); }
  /// False for a moved-from receiver.
  bool valid() const noexcept { return c_ != nullptr; }

 private:
  using chan_type = detail::chan<T>;
  using status = typename chan_type::status;
  friend class sender<T>;
  friend class recv_awaitable<T>;
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  receiver(chan_type* c, std::uint64_t next) noexcept : c_(c), next_(next) {}
  chan_type* checked(const char* what) const {
    if (!c_) [[unlikely]] corio::detail::throw_usage_error("corio::broadcast::receiver::", what, ": the receiver was moved from");
    return c_;
  }
  void reset() noexcept {
    if (chan_type* c = std::exchange(c_, nullptr)) {
      c->unsubscribe(next_);
      c->drop_ref();
    }
  }
  chan_type* c_;
  std::uint64_t next_;
};

/// Sends to every receiver. Copyable; send() never waits and may be called from any thread.
template <class T>
class sender {
 public:
  /// Another handle on the same channel (counted: the channel closes when the last one goes).
  sender(const sender& o) noexcept : c_(o.c_) {
    if (c_) {
      c_->add_sender();
      c_->add_ref();
    }
  }
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  sender(sender&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  /// Copy-and-swap assignment: this object takes `o`'s channel reference (the old one is released).
  sender& operator=(sender o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  /// The last sender going away ends every receiver's recv() once it has read what is kept.
  ~sender() {
    if (c_) {
      c_->drop_sender();
      c_->drop_ref();
    }
  }

  /// Sends `v` to every current receiver (overwriting the oldest kept message if the buffer
  /// is full); returns how many receivers will see it. Throws send_error<T> (with `v`) if
  /// there is no receiver.
  std::size_t send(T v) {
    std::size_t n = 0;
    if (!checked("send")->send(v, n)) throw send_error<T>(detail::closed_send, std::move(v));
    return n;
  }
  /// As send(), but reports "no receiver" in the result (with the value).
  try_send_result<T> try_send(T v) {
    std::size_t n = 0;
    if (checked("try_send")->send(v, n)) return {};
    return try_send_result<T>(send_status::closed, std::move(v));
  }
  /// A new receiver, starting with the next message sent.
  receiver<T> subscribe() {
    auto* c = checked("subscribe");
    c->add_ref();
    return receiver<T>(c, c->subscribe());
  }
  /// How many receivers exist now (a snapshot).
  std::size_t receiver_count() const { return checked("receiver_count")->receiver_count(); }
  /// False for a moved-from sender.
  bool valid() const noexcept { return c_ != nullptr; }

 private:
  using chan_type = detail::chan<T>;
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  explicit sender(chan_type* c) noexcept : c_(c) {}
  chan_type* checked(const char* what) const {
    if (!c_) [[unlikely]] corio::detail::throw_usage_error("corio::broadcast::sender::", what, ": the sender was moved from");
    return c_;
  }
  chan_type* c_;
};

/// A broadcast channel keeping the last `capacity` messages. Throws std::invalid_argument for
/// capacity 0.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  static_assert(std::is_copy_constructible_v<T>, "corio::broadcast: the message type must be copyable");
  if (capacity == 0) throw std::invalid_argument("corio::broadcast::channel: the capacity must be at least 1");
  auto* c = new detail::chan<T>(capacity);
  return {sender<T>(c), receiver<T>(c, 0)};
}

}  // namespace corio::broadcast
