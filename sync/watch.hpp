#pragma once
// corio::watch — a single value that receivers observe; they learn when it changes.
//
//   auto [tx, rx] = corio::watch::channel<config>(initial);
//   tx.send(new_config);                          // replaces the value, wakes the watchers
//   while (true) {
//     co_await rx.changed();                      // a value newer than the last one seen
//     config c = *rx.borrow_and_update();         // read it (and mark it seen)
//   }
//
// Only the latest value is kept: a receiver that is slow sees the newest value, not every
// one. Each receiver remembers the version it has seen; changed() completes at once if a newer
// one exists, and throws corio::channel_closed once the sender is gone and nothing newer is
// left to see. Receivers are copyable (a copy starts with the same seen version); the sender
// is move-only and may make more receivers with subscribe().
//
// borrow() gives read access under a shared lock (std::shared_mutex): keep it short and never
// hold it across co_await — the sender blocks while it is held. send() fails with
// send_error<T> (value handed back) when no receiver exists; send_replace() and send_modify()
// always store.
//
// Fairness: every waiting receiver is woken by each change (in the order they started
// waiting). Memory ordering: everything the sender did before a send happens-before a
// receiver observing that value. Waiting allocates nothing; a cancelled changed() leaves
// cleanly. Any thread may send.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "../runtime/detail/context.hpp"
#include "../runtime/error.hpp"
#include "channel_error.hpp"
#include "detail/spin_lock.hpp"
#include "../runtime/detail/wait_queue.hpp"

namespace corio::watch {

template <class T>
class sender;
template <class T>
class receiver;

namespace detail {
using namespace corio::detail;

/// A changed() waiting for a version after `seen` (runtime/detail/wait_queue.hpp): released
/// `woken` by a change, `closed` when the sender goes.
struct waiter : wait_node {
  std::uint64_t seen = 0;
};

template <class T>
struct state {
  template <class... A>
  explicit state(A&&... a) : value(std::forward<A>(a)...) {}

  std::shared_mutex value_lock;  ///< guards value; version changes under it too
  T value;
  std::atomic<std::uint64_t> version{0};
  spin_lock lock;  ///< guards waiters and sender_alive
  bool sender_alive = true;
  wait_queue<waiter> waiters;
  std::atomic<std::size_t> receivers{1};
  std::atomic<std::size_t> refs{2};

  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void drop_ref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Wakes the waiters that have not seen `version` yet (all of them after a change), or all
  /// of them as closed.
  void wake_waiters(bool closed) noexcept {
    std::unique_lock g(lock);
    if (closed) sender_alive = false;
    waiters.release_while(g, [this, closed](waiter& w) {
      if (closed) return wait_state::closed;
      return w.seen < version.load(std::memory_order_relaxed) ? wait_state::woken : wait_state::waiting;
    });
  }

  /// Queues `w` unless a newer version exists (woken) or the sender is gone (closed).
  wait_state wait_or_enqueue(waiter& w, std::uint64_t seen, std::coroutine_handle<> h, thread_parker* parker,
                             const char* what) {
    std::lock_guard g(lock);
    if (version.load(std::memory_order_acquire) != seen) return wait_state::woken;
    if (!sender_alive) return wait_state::closed;
    w.seen = seen;
    waiters.enqueue(w, waker::for_waiter(h, parker, what));
    return wait_state::waiting;
  }

  void abandon(waiter& w) noexcept {
    std::lock_guard g(lock);
    waiters.abandon(w);
  }
};

inline constexpr const char* closed_send = "corio::watch::sender::send: no receiver is left; the value is handed back in this exception";
inline constexpr const char* closed_changed = "corio::watch::receiver::changed: the sender was dropped and no newer value is left";
}  // namespace detail

/// Read access to the current value (a shared lock). Keep it short; never across co_await.
template <class T>
class ref {
 public:
  ///@{
  /// The value, valid while this ref lives.
  const T& operator*() const noexcept { return *v_; }
  const T* operator->() const noexcept { return v_; }
  ///@}
  /// True if this value was new to the receiver that borrowed it (borrow_and_update only).
  bool has_changed() const noexcept { return changed_; }

 private:
  friend class sender<T>;
  friend class receiver<T>;
  ref(std::shared_mutex& m, const T* v, bool changed) : lock_(m), v_(v), changed_(changed) {}
  std::shared_lock<std::shared_mutex> lock_;
  const T* v_;
  bool changed_;
};

/// Returned by receiver<T>::changed(). Movable until awaited.
template <class T>
class [[nodiscard]] changed_awaitable {
  using wait_state = corio::detail::wait_state;

 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  changed_awaitable(changed_awaitable&& o) noexcept : r_(o.r_) {}
  changed_awaitable& operator=(changed_awaitable&&) = delete;
  ~changed_awaitable() {
    if (node_.must_abandon()) r_->s_->abandon(node_);
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    wait_state s = r_->s_->wait_or_enqueue(node_, r_->seen_, h, nullptr, "corio::watch::receiver::changed");
    if (s == wait_state::waiting) return true;
    node_.settle_self(s);
    return corio::detail::resume_or_yield(h, "corio::watch::receiver::changed");
  }
  /// Marks the newest version seen. Throws channel_closed if the sender is gone and there was
  /// nothing new.
  void await_resume() {
    wait_state s = node_.outcome();
    node_.consume();
    if (s == wait_state::closed) throw channel_closed(detail::closed_changed);
    r_->seen_ = r_->s_->version.load(std::memory_order_acquire);
  }

 private:
  friend class receiver<T>;
  explicit changed_awaitable(receiver<T>* r) noexcept : r_(r) {}
  receiver<T>* r_;
  detail::waiter node_;
};

/// Observes the value. Copyable (a copy starts with the same seen version). One receiver
/// object belongs to one task at a time (it records what it has seen); give each task its own
/// copy.
template <class T>
class receiver {
 public:
  /// Another handle on the same channel (counted: the channel closes when the last one goes).
  receiver(const receiver& o) noexcept : s_(o.s_), seen_(o.seen_) {
    if (s_) {
      s_->receivers.fetch_add(1, std::memory_order_relaxed);
      s_->add_ref();
    }
  }
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  receiver(receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)), seen_(o.seen_) {}
  /// Copy-and-swap assignment: this object takes `o`'s channel reference (the old one is released).
  receiver& operator=(receiver o) noexcept {
    std::swap(s_, o.s_);
    std::swap(seen_, o.seen_);
    return *this;
  }
  ~receiver() {
    if (s_) {
      s_->receivers.fetch_sub(1, std::memory_order_relaxed);
      s_->drop_ref();
    }
  }

  /// The current value (does not mark it seen).
  ref<T> borrow() const {
    auto* s = checked("borrow");
    return ref<T>(s->value_lock, &s->value, false);
  }
  /// The current value, marked seen.
  ref<T> borrow_and_update() {
    auto* s = checked("borrow_and_update");
    ref<T> r(s->value_lock, &s->value, false);
    std::uint64_t v = s->version.load(std::memory_order_relaxed);  // stable: we hold the lock
    r.changed_ = v != seen_;
    seen_ = v;
    return r;
  }
  /// True if a value newer than the last one seen exists.
  bool has_changed() const { return checked("has_changed")->version.load(std::memory_order_acquire) != seen_; }
  /// Marks the current value seen without reading it.
  void mark_seen() { seen_ = checked("mark_seen")->version.load(std::memory_order_acquire); }
  /// Awaitable: completes when a value newer than the last one seen exists, and marks it
  /// seen; throws channel_closed once the sender is gone with nothing new. One task at a time
  /// per receiver, on any worker.
  ///
  /// **Cancel safety:** cancel-safe: dropped, nothing is marked seen, so the next changed()
  /// still reports the change.
  changed_awaitable<T> changed() {
    checked("changed");
    return changed_awaitable<T>(this);
  }
  /// changed() for plain threads. Throws channel_closed as changed() does, usage_error on a
  /// worker thread.
  void blocking_changed() {
    corio::detail::check_may_block("corio::watch::receiver::blocking_changed");
    auto* s = checked("blocking_changed");
    detail::waiter w;
    corio::detail::thread_parker parker;
    auto st = s->wait_or_enqueue(w, seen_, {}, &parker, "corio::watch::receiver::blocking_changed");
    if (st == corio::detail::wait_state::waiting) {
      parker.park();
      st = w.outcome();
    }
    if (st == corio::detail::wait_state::closed) throw channel_closed(detail::closed_changed);
    seen_ = s->version.load(std::memory_order_acquire);
  }
  /// True once the sender is gone.
  bool is_closed() const {
    auto* s = checked("is_closed");
    std::lock_guard g(s->lock);
    return !s->sender_alive;
  }
  /// False for a moved-from receiver.
  bool valid() const noexcept { return s_ != nullptr; }

 private:
  friend class sender<T>;
  friend class changed_awaitable<T>;
  template <class U, class... A>
  friend std::pair<sender<U>, receiver<U>> channel(A&&...);
  receiver(detail::state<T>* s, std::uint64_t seen) noexcept : s_(s), seen_(seen) {}
  detail::state<T>* checked(const char* what) const {
    if (!s_) [[unlikely]] corio::detail::throw_usage_error("corio::watch::receiver::", what, ": the receiver was moved from");
    return s_;
  }
  detail::state<T>* s_;
  std::uint64_t seen_;
};

/// Replaces the value and wakes the receivers. Move-only; its send functions may be called
/// from any thread. Dropping it closes the channel (see ~sender).
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
  /// Receivers waiting in changed() then throw channel_closed.
  ~sender() { reset(); }

  /// Replaces the value and wakes the receivers. Throws send_error<T> (with `v`) if no
  /// receiver exists.
  void send(T v) {
    auto* s = checked("send");
    if (s->receivers.load(std::memory_order_acquire) == 0) throw send_error<T>(detail::closed_send, std::move(v));
    send_replace(std::move(v));
  }
  /// Replaces the value whether or not anyone watches; returns the old one.
  T send_replace(T v) {
    auto* s = checked("send_replace");
    {
      std::unique_lock l(s->value_lock);
      std::swap(s->value, v);
      s->version.fetch_add(1, std::memory_order_release);
    }
    s->wake_waiters(false);
    return v;
  }
  /// Changes the value in place with f(T&) and notifies the receivers.
  template <class F>
  void send_modify(F&& f) {
    send_if_modified([&](T& v) {
      std::invoke(f, v);
      return true;
    });
  }
  /// Calls f(T&); notifies the receivers only if it returns true. Returns what f returned.
  template <class F>
  bool send_if_modified(F&& f) {
    auto* s = checked("send_if_modified");
    {
      std::unique_lock l(s->value_lock);
      if (!std::invoke(f, s->value)) return false;
      s->version.fetch_add(1, std::memory_order_release);
    }
    s->wake_waiters(false);
    return true;
  }
  /// The current value.
  ref<T> borrow() const {
    auto* s = checked("borrow");
    return ref<T>(s->value_lock, &s->value, false);
  }
  /// A new receiver that has seen the current value.
  receiver<T> subscribe() {
    auto* s = checked("subscribe");
    s->receivers.fetch_add(1, std::memory_order_relaxed);
    s->add_ref();
    return receiver<T>(s, s->version.load(std::memory_order_acquire));
  }
  /// How many receivers exist now (a snapshot).
  std::size_t receiver_count() const { return checked("receiver_count")->receivers.load(std::memory_order_acquire); }
  /// True when no receiver exists.
  bool is_closed() const { return receiver_count() == 0; }
  /// False for a moved-from sender.
  bool valid() const noexcept { return s_ != nullptr; }

 private:
  template <class U, class... A>
  friend std::pair<sender<U>, receiver<U>> channel(A&&...);
  explicit sender(detail::state<T>* s) noexcept : s_(s) {}
  detail::state<T>* checked(const char* what) const {
    if (!s_) [[unlikely]] corio::detail::throw_usage_error("corio::watch::sender::", what, ": the sender was moved from");
    return s_;
  }
  void reset() noexcept {
    if (auto* s = std::exchange(s_, nullptr)) {
      s->wake_waiters(true);
      s->drop_ref();
    }
  }
  detail::state<T>* s_;
};

/// A watch channel whose value starts as T(args...); the receiver has seen it.
template <class T, class... A>
std::pair<sender<T>, receiver<T>> channel(A&&... args) {
  auto* s = new detail::state<T>(std::forward<A>(args)...);
  return {sender<T>(s), receiver<T>(s, 0)};
}

}  // namespace corio::watch
