#pragma once
// corio::rw_lock<T> — an asynchronous reader-writer lock that owns the value it protects.
//
//   corio::rw_lock<config> cfg;
//   { auto r = co_await cfg.read();  use(r->name); }     // many readers at once
//   { auto w = co_await cfg.write(); w->name = "x"; }     // one writer, nobody else
//   if (auto r = cfg.try_read()) ...                      // never waits
//   auto w = cfg.blocking_write();                        // for plain threads
//
// Fairness: one FIFO queue of readers and writers. A reader gets in at once only while no
// writer holds the lock and nobody waits; so once a writer waits, later readers queue behind
// it and it gets the lock as soon as the current readers leave (writers never starve). When a
// writer finishes, the run of readers queued up to the next writer is let in together.
// Cancellation: a cancelled read()/write() leaves the queue (letting in the readers behind a
// writer that gives up); one that had already been granted the lock releases it.
//
// Memory ordering: a writer's changes happen-before every later read or write acquisition; a
// reader's accesses happen-before the next write acquisition. Acquiring without suspension
// counts against the task's cooperative budget (the task yields once it is spent, holding
// the lock it got).
//
// Waiting allocates nothing (the node is in the awaiting frame). Guards may be held across
// co_await and released on any worker. The lock must outlive its guards and pending calls.

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

#include "../runtime/detail/context.hpp"
#include "detail/rw_lock_core.hpp"

namespace corio {

template <class T>
class rw_lock;

namespace detail {
template <class T, bool Writer>
class rw_guard;
template <class T, bool Writer>
class rw_acquire_awaitable;
}  // namespace detail

/// Shared access to the T of a rw_lock (const); released on destruction. Move-only.
template <class T>
using rw_lock_read_guard = detail::rw_guard<T, false>;
/// Exclusive access to the T of a rw_lock; released on destruction. Move-only.
template <class T>
using rw_lock_write_guard = detail::rw_guard<T, true>;
/// Returned by rw_lock<T>::read() / write(). Movable until awaited.
template <class T>
using rw_lock_read_awaitable = detail::rw_acquire_awaitable<T, false>;
template <class T>
using rw_lock_write_awaitable = detail::rw_acquire_awaitable<T, true>;

namespace detail {

template <class T, bool Writer>
class [[nodiscard]] rw_guard {
  using value_ref = std::conditional_t<Writer, T&, const T&>;
  using value_ptr = std::conditional_t<Writer, T*, const T*>;

 public:
  rw_guard(rw_guard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
  rw_guard& operator=(rw_guard&& o) noexcept {
    if (this != &o) {
      unlock();
      l_ = std::exchange(o.l_, nullptr);
    }
    return *this;
  }
  rw_guard(const rw_guard&) = delete;
  rw_guard& operator=(const rw_guard&) = delete;
  ~rw_guard() { unlock(); }

  value_ref operator*() const noexcept { return l_->value_; }
  value_ptr operator->() const noexcept { return &l_->value_; }
  bool owns_lock() const noexcept { return l_ != nullptr; }
  /// Releases early; a no-op on an empty guard.
  void unlock() noexcept {
    if (l_) std::exchange(l_, nullptr)->core_.release(Writer);
  }

 private:
  friend class rw_lock<T>;
  friend class rw_acquire_awaitable<T, Writer>;
  explicit rw_guard(rw_lock<T>* l) noexcept : l_(l) {}
  rw_lock<T>* l_;
};

template <class T, bool Writer>
class [[nodiscard]] rw_acquire_awaitable {
  using waiter = rw_lock_core::waiter;
  static constexpr const char* name = Writer ? "corio::rw_lock::write" : "corio::rw_lock::read";

 public:
  rw_acquire_awaitable(rw_acquire_awaitable&& o) noexcept : l_(o.l_) { node_.writer = Writer; }
  rw_acquire_awaitable& operator=(rw_acquire_awaitable&&) = delete;
  ~rw_acquire_awaitable() {
    if (node_.must_abandon()) l_->core_.abandon(node_);  // queued, or granted: release it
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!l_->core_.acquire_or_enqueue(node_, Writer, h, nullptr, name)) return true;
    if (coop_consume()) return false;
    node_.settle_self(wait_state::handed);
    yield_to_scheduler(h, name);
    return true;
  }
  rw_guard<T, Writer> await_resume() noexcept {
    node_.consume();
    return rw_guard<T, Writer>(l_);
  }

 private:
  friend class rw_lock<T>;
  explicit rw_acquire_awaitable(rw_lock<T>* l) noexcept : l_(l) { node_.writer = Writer; }
  rw_lock<T>* l_;
  waiter node_;
};

}  // namespace detail

/// An async reader-writer lock owning its T (see above). Any task on any worker, and plain
/// threads through blocking_read/blocking_write, may use one lock at once.
template <class T>
class rw_lock {
 public:
  /// Constructs the T from `args` (value-initialised with none).
  template <class... Args>
    requires std::constructible_from<T, Args...>
  explicit rw_lock(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>)
      : value_(std::forward<Args>(args)...) {}
  rw_lock(const rw_lock&) = delete;
  rw_lock& operator=(const rw_lock&) = delete;

  /// Awaitable: shared access (see the fairness rules above). Any task on any worker.
  ///
  /// **Cancel safety:** cancel-safe: dropped while queued it leaves the queue (readers queued
  /// behind a writer that gives up are let in); dropped after being granted, it releases.
  rw_lock_read_awaitable<T> read() noexcept { return rw_lock_read_awaitable<T>(this); }
  /// Awaitable: exclusive access. Any task on any worker. **Cancel safety:** cancel-safe, as
  /// read().
  rw_lock_write_awaitable<T> write() noexcept { return rw_lock_write_awaitable<T>(this); }

  /// Shared access if available now without overtaking a waiter; never waits.
  std::optional<rw_lock_read_guard<T>> try_read() noexcept {
    if (!core_.try_acquire(false)) return std::nullopt;
    return rw_lock_read_guard<T>(this);
  }
  /// Exclusive access if the lock is free and nobody waits; never waits.
  std::optional<rw_lock_write_guard<T>> try_write() noexcept {
    if (!core_.try_acquire(true)) return std::nullopt;
    return rw_lock_write_guard<T>(this);
  }

  /// read() for plain threads: blocks the thread. Throws usage_error on a worker thread.
  rw_lock_read_guard<T> blocking_read() { return rw_lock_read_guard<T>(blocking(false, "corio::rw_lock::blocking_read")); }
  /// write() for plain threads: blocks the thread. Throws usage_error on a worker thread.
  rw_lock_write_guard<T> blocking_write() {
    return rw_lock_write_guard<T>(blocking(true, "corio::rw_lock::blocking_write"));
  }

  /// Snapshots, for diagnostics.
  std::size_t reader_count() noexcept { return core_.readers(); }
  /// True while a writer holds the lock.
  bool is_write_locked() noexcept { return core_.write_locked(); }

  /// Direct access without locking, for when nobody else can reach the lock.
  T& get_unsynchronized() noexcept { return value_; }

 private:
  template <class, bool>
  friend class detail::rw_guard;
  template <class, bool>
  friend class detail::rw_acquire_awaitable;

  rw_lock* blocking(bool writer, const char* what) {
    detail::check_may_block(what);
    detail::rw_lock_core::waiter node;
    detail::thread_parker parker;
    if (!core_.acquire_or_enqueue(node, writer, {}, &parker, what)) parker.park();
    return this;
  }

  detail::rw_lock_core core_;
  T value_;
};

}  // namespace corio
