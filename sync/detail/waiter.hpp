#pragma once
// What every sync primitive's wait queue is made of: the waker a waiter leaves behind, an
// intrusive FIFO list of waiter nodes, and a batch of wakers to wake once the lock is released.
//
// A waiter is a task (its waker owns one task reference, see docs/internals.md) or a plain
// thread parked in a blocking_* call (its waker points at a thread_parker next to the node on
// that thread's stack). The primitive's wake path treats both alike: take the node out under
// the lock, record the outcome in it, move its waker out, release the lock, then wake().
// A parked thread cannot leave its wait before unpark() has run, so its node (and parker)
// outlive the wake; a task node may be gone the instant wake() has been called.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

#include "../../runtime/detail/task_header.hpp"
#ifdef CORIO_MODEL_CHECK
#include "model/explorer.hpp"  // the waker's word is race-checked in the models (tests/model/)
#include "../../runtime/detail/export.hpp"
#endif

namespace corio::detail {

/// Parks a plain thread until a primitive completes its wait. Lives on the waiting thread's
/// stack; unpark() is called exactly once, by whoever completes the wait.
class thread_parker {
 public:
  thread_parker() = default;
  thread_parker(const thread_parker&) = delete;
  thread_parker& operator=(const thread_parker&) = delete;

  void park() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return ready_; });
  }
  // Notified under the lock: the parked thread cannot return (and destroy *this) before the
  // notifying thread has let go of the mutex.
  void unpark() noexcept {
    std::lock_guard lock(mutex_);
    ready_ = true;
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool ready_ = false;
};

/// Who to wake: a task (owning one reference) or a parked thread. Move-only; destroying a
/// non-empty waker drops it without waking (the wait was abandoned).
///
/// A waker is plain memory: the waiter's side may touch it (here: destroy it with the node)
/// only once it has acquired the releaser's store that says the waker was moved out. In the
/// models (CORIO_MODEL_CHECK) its word is a model::cell, so a missing acquire is a data race.
class waker {
 public:
  waker() noexcept = default;
  explicit waker(task_header* t) noexcept : bits_(reinterpret_cast<std::uintptr_t>(t)) {}
  explicit waker(thread_parker* p) noexcept : bits_(reinterpret_cast<std::uintptr_t>(p) | 1u) {}
  waker(waker&& o) noexcept : bits_(o.take()) {}
  waker& operator=(waker&& o) noexcept {
    if (this != &o) {
      drop();
      put(o.take());
    }
    return *this;
  }
  ~waker() { drop(); }

  explicit operator bool() const noexcept { return peek() != 0; }

  /// Wakes the waiter (consumes the waker). Call with no primitive lock held.
  void wake() noexcept {
    std::uintptr_t b = take();
    if (b & 1u)
      reinterpret_cast<thread_parker*>(b & ~std::uintptr_t{1})->unpark();
    else if (b)
      detail::wake(reinterpret_cast<task_header*>(b));
  }
  /// Lets go of the waiter without waking it (a cancelled wait).
  void drop() noexcept {
    std::uintptr_t b = take();
    if (b && !(b & 1u)) reinterpret_cast<task_header*>(b)->drop_ref();
  }

 private:
#ifdef CORIO_MODEL_CHECK
  std::uintptr_t peek() const noexcept { return bits_.get("waker read"); }
  void put(std::uintptr_t b) noexcept { bits_.set(b, "waker written"); }
  std::uintptr_t take() noexcept {
    std::uintptr_t b = peek();
    if (b) put(0);  // (an empty waker is only read: two readers of it do not race)
    return b;
  }
  model::cell<std::uintptr_t> bits_{0};
#else
  std::uintptr_t peek() const noexcept { return bits_; }
  void put(std::uintptr_t b) noexcept { bits_ = b; }
  std::uintptr_t take() noexcept { return std::exchange(bits_, 0); }
  std::uintptr_t bits_ = 0;
#endif
};

/// Links of an intrusive list node; Node derives from list_node<Node>.
template <class Node>
struct list_node {
  Node* prev_ = nullptr;
  Node* next_ = nullptr;
};

/// An intrusive doubly-linked FIFO of waiter nodes. Not thread-safe: used under a lock.
template <class Node>
class wait_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  Node* front() const noexcept { return head_; }
  Node* back() const noexcept { return tail_; }

  void push_back(Node* n) noexcept {
    n->next_ = nullptr;
    n->prev_ = tail_;
    (tail_ ? tail_->next_ : head_) = n;
    tail_ = n;
  }
  Node* pop_front() noexcept {
    Node* n = head_;
    if (n) remove(n);
    return n;
  }
  void remove(Node* n) noexcept {
    (n->prev_ ? n->prev_->next_ : head_) = n->next_;
    (n->next_ ? n->next_->prev_ : tail_) = n->prev_;
    n->prev_ = n->next_ = nullptr;
  }

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
};

/// Wakers collected under a lock, woken after it is released (by wake_all or the destructor).
/// Fixed capacity, so collecting never allocates: a mass wake-up takes at most `capacity`
/// waiters per lock hold and goes round again for the rest.
class waker_batch {
 public:
  static constexpr std::size_t capacity = 16;
  waker_batch() = default;
  waker_batch(const waker_batch&) = delete;
  waker_batch& operator=(const waker_batch&) = delete;
  ~waker_batch() { wake_all(); }

  bool full() const noexcept { return n_ == capacity; }
  std::size_t size() const noexcept { return n_; }
  void push(waker&& w) noexcept { w_[n_++] = std::move(w); }
  void wake_all() noexcept {
    for (std::size_t i = 0; i < n_; ++i) w_[i].wake();
    n_ = 0;
  }

 private:
  waker w_[capacity];
  std::size_t n_ = 0;
};

/// Throws corio::usage_error naming `what` when called on a worker thread of a corio runtime,
/// where blocking would stall every task queued on that worker (use co_await there).
CORIO_API void check_may_block(const char* what);

}  // namespace corio::detail
