#pragma once
// corio::mutex<T> — an asynchronous mutex that owns the value it protects.
//
//   corio::mutex<std::vector<int>> m;
//   {
//     auto g = co_await m.lock();     // suspends the task (not the worker) while others hold it
//     g->push_back(1);                // the guard gives access to the T: *g, g->
//   }                                 // unlocked when the guard goes away
//   if (auto g = m.try_lock()) ...    // never waits
//   auto g = m.blocking_lock();       // for plain threads (not on a worker)
//
// Unlike std::mutex, waiting suspends only the task, and a guard may be held across co_await
// and released on another worker. Use it when the lock must be held across a suspension; a
// std::mutex is cheaper for short critical sections that never await.
//
// Fairness: FIFO. Once anyone waits, the lock is handed directly to the longest waiter on
// unlock, and new lockers (try_lock too) queue behind the waiters. Before queueing, a locker
// spins briefly while the mutex is held by someone who is running. Cancellation: destroying a
// pending lock() (its task aborted) leaves the queue; if the lock had already been handed to
// it, it passes the lock on to the next waiter, so no hand-off is ever lost.
//
// Memory ordering: everything done while holding the lock happens-before whatever the next
// holder does after acquiring it (as std::mutex). lock() completing without suspension counts
// against the task's cooperative budget; when that is spent the task takes the lock and yields
// once before continuing.
//
// Waiting allocates nothing: the waiter node lives in the awaiting frame. Any task on any
// worker, and plain threads through blocking_lock, may use one mutex. The mutex must outlive
// its guards and pending lock() calls; destroying it while locked is undefined.

#include <concepts>
#include <coroutine>
#include <optional>
#include <utility>

#include "../runtime/detail/context.hpp"
#include "detail/mutex_core.hpp"

namespace corio {

template <class T>
class mutex;

/// Owns the lock of a corio::mutex<T>; gives access to the T. Move-only. Unlocks on
/// destruction (or unlock()), from whichever thread or worker it is on by then.
template <class T>
class [[nodiscard]] mutex_guard {
 public:
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  mutex_guard(mutex_guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
  mutex_guard& operator=(mutex_guard&& o) noexcept {
    if (this != &o) {
      unlock();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  mutex_guard(const mutex_guard&) = delete;
  mutex_guard& operator=(const mutex_guard&) = delete;
  ~mutex_guard() { unlock(); }

  ///@{
  /// The protected value (only while the guard owns the lock).
  T& operator*() const noexcept { return m_->value_; }
  T* operator->() const noexcept { return &m_->value_; }
  ///@}
  /// False once unlocked or moved from.
  bool owns_lock() const noexcept { return m_ != nullptr; }
  /// Releases the lock early; a no-op on an empty guard.
  void unlock() noexcept {
    if (m_) std::exchange(m_, nullptr)->core_.unlock();
  }

 private:
  friend class corio::mutex<T>;
  template <class>
  friend class mutex_lock_awaitable;
  explicit mutex_guard(corio::mutex<T>* m) noexcept : m_(m) {}
  corio::mutex<T>* m_;
};

/// Returned by mutex<T>::lock(). Movable until awaited.
template <class T>
class [[nodiscard]] mutex_lock_awaitable {
  using wait_state = detail::wait_state;

 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  mutex_lock_awaitable(mutex_lock_awaitable&& o) noexcept : m_(o.m_) {}
  mutex_lock_awaitable& operator=(mutex_lock_awaitable&&) = delete;
  ~mutex_lock_awaitable() {
    if (node_.must_abandon()) m_->core_.abandon(node_);  // queued, or handed the lock: pass it on
  }

  bool await_ready() noexcept {
    if (!m_->core_.try_lock()) return false;
    if (detail::coop_consume()) return true;
    node_.settle_self(wait_state::handed);  // ours; yield first
    return false;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    if (node_.outcome() != wait_state::handed && !m_->core_.lock_or_enqueue(node_, h, nullptr, "corio::mutex::lock"))
      return true;  // queued: the unlocker wakes us with the lock
    if (detail::coop_consume()) return false;
    node_.settle_self(wait_state::handed);
    detail::yield_to_scheduler(h, "corio::mutex::lock");
    return true;
  }
  mutex_guard<T> await_resume() noexcept {
    node_.consume();
    return mutex_guard<T>(m_);
  }

 private:
  friend class mutex<T>;
  explicit mutex_lock_awaitable(mutex<T>* m) noexcept : m_(m) {}
  mutex<T>* m_;
  detail::mutex_core::waiter node_;
};

/// An async mutex owning its T (see above). Any task on any worker, and plain threads through
/// blocking_lock, may use one mutex at once.
template <class T>
class mutex {
 public:
  /// Constructs the T from `args` (value-initialised with none).
  template <class... Args>
    requires std::constructible_from<T, Args...>
  explicit mutex(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>)
      : value_(std::forward<Args>(args)...) {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  /// Awaitable: completes with a guard once the lock is ours (FIFO among waiters). Never
  /// throws but corio::usage_error (awaited outside a task). Any task on any worker.
  ///
  /// **Cancel safety:** cancel-safe. Dropped while queued it leaves the queue; dropped after
  /// the lock was handed to it (but before it resumed) it passes the lock on to the next
  /// waiter. Either way no lock is held and no hand-off is lost.
  mutex_lock_awaitable<T> lock() noexcept { return mutex_lock_awaitable<T>(this); }

  /// Takes the lock if it is free and nobody waits; never waits.
  std::optional<mutex_guard<T>> try_lock() noexcept {
    if (!core_.try_lock()) return std::nullopt;
    return mutex_guard<T>(this);
  }

  /// Blocks the calling plain thread until the lock is ours (FIFO with the tasks). Throws
  /// corio::usage_error on a worker thread of a runtime (use co_await lock() there).
  mutex_guard<T> blocking_lock() {
    detail::check_may_block("corio::mutex::blocking_lock");
    if (core_.try_lock()) return mutex_guard<T>(this);
    detail::mutex_core::waiter node;
    detail::thread_parker parker;
    if (!core_.lock_or_enqueue(node, {}, &parker, "corio::mutex::blocking_lock")) parker.park();
    return mutex_guard<T>(this);
  }

  /// True while someone holds the lock (a snapshot, for diagnostics).
  bool is_locked() const noexcept { return core_.is_locked(); }

  /// Direct access without locking, for when nobody else can reach the mutex (set-up,
  /// tear-down).
  T& get_unsynchronized() noexcept { return value_; }

 private:
  friend class mutex_guard<T>;
  friend class mutex_lock_awaitable<T>;
  detail::mutex_core core_;
  T value_;
};

}  // namespace corio
