#pragma once
// The wait queue: how a task or a plain thread waits on a primitive (every sync primitive, and
// anything else that keeps a FIFO of waiters behind its own lock). This file is the protocol,
// written once; a primitive adds only its rule for *when* a waiter is released and what it is
// handed (a lock, permits, a notification, a role, a message).
//
// The pieces:
//   waker          who to wake: a task (owning one task reference) or a thread_parker on the
//                  stack of a thread blocked in a blocking_* call (waker::for_waiter picks).
//   wait_node      one waiter, living in its awaitable (or on the blocked thread's stack): the
//                  links of an intrusive FIFO, its waker while queued, and its state word.
//   wait_queue<N>  the FIFO of nodes (N derives from wait_node and adds the primitive's fields),
//                  always used under the primitive's lock.
//   waker_batch    wakers taken out under the lock, woken after it is released.
//
// A node's state (wait_state):
//   idle -> waiting            enqueue, under the lock: waker stored, node linked at the tail.
//   waiting -> woken | handed | closed
//                              release, under the lock, by whoever completes the wait: node
//                              unlinked, waker moved out, then the outcome stored (release).
//                              `handed` means the node now owns something (a lock, permits,
//                              a notify_one, the initialiser's role) it must pass on if it
//                              never resumes; `woken` owns nothing; `closed`: the primitive
//                              closed. The releaser wakes the waker after unlocking and never
//                              touches the node again: the woken task may free it at once.
//   idle -> woken | handed | closed
//                              settle_self, by the owner, when it completed without queueing
//                              but has to yield for its budget first (or was refused at once).
//   any -> consumed            the owner resumed (consume), or left (abandon).
//
// Who touches what: the links, the waker and every transition out of `waiting` happen under the
// primitive's lock; the owner writes its node alone while it is not queued (idle, and after
// it was released).
//
// Abandon (the owner's awaitable destroyed before it resumed: its task aborted, or the branch of
// a select that lost). The destructor first reads the state with `must_abandon()`, an ACQUIRE
// load and no lock: if the node was released with nothing owed, the destructor lets the node go
// and its ~waker reads the waker word, so that read must happen after the releaser moved the
// waker out - the releaser's store of the outcome is a release, the load acquires it. (A relaxed
// load there is a data race on the waker; the model's negative control shows it.) If the node is
// `waiting` or `handed`, the destructor calls the primitive's abandon, which takes the lock and
// calls wait_queue::abandon: still waiting -> unlinked, its waker dropped; handed -> the
// primitive passes what it owns to the next waiter (unlock, return the permits, notify_one
// again, hand the role on), with the lock released if that path takes it. A hand-off is never
// undone and never lost.
//
// Release while a predicate holds (release_while): the releaser walks the queue from the head,
// asking the primitive's predicate for each head node's outcome (it may update the primitive's
// state under the lock: count a reader, move permits), and stops at the first node that must
// keep waiting. Wakers are collected in a fixed-size batch; a full batch is woken with the lock
// released and the walk resumes under the lock again, so a mass wake-up never allocates and
// never holds the lock for long. Waiters that arrive in between are behind those being
// released (FIFO), so a predicate that tells rounds apart (a generation, a round number) keeps
// them waiting.
//
// Release everyone present now (notify_all, a close, an error for every waiter): the releaser
// moves the whole queue onto a detached queue on its stack (detach_into, under the lock) and
// releases that one with release_while; newcomers queue on the primitive's queue meanwhile, and
// a detached node can still abandon (the links form a ring through the queue's sentinel, so
// a node unlinks itself without knowing which queue holds it).
//
// Resume: the waker's wake() (a release of the task's state word, or of the parker's mutex)
// happens-before the woken owner runs, so `outcome()` and `consume()` are relaxed, and
// everything the releaser did before releasing the lock is visible to the woken owner.
//
// Memory ordering, in short: everything under the primitive's lock is ordered by the lock
// (relaxed accesses of the state word there); the one release store is the outcome, and the
// one acquire load is must_abandon(), the only read of the state word made without the lock.
//
// Checked by tests/model/wait_queue_model.cpp (the real functions under the atomics shim).

#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <utility>

#include "atomic.hpp"
#include "context.hpp"
#include "export.hpp"
#include "task_header.hpp"
#ifdef CORIO_MODEL_CHECK
#include "model/explorer.hpp"  // the waker's word is race-checked in the models (tests/model/)
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

/// Throws corio::usage_error naming `what` when called on a worker thread of a corio runtime,
/// where parking the thread would stall every task queued on that worker (use co_await there).
/// Every blocking_* call checks it first.
CORIO_API void check_may_block(const char* what);

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
  /// A waiter's waker: the blocked thread's `parker` if there is one, else the task polled
  /// now, to resume at `h` (make_waker: throws usage_error, naming `what`, outside a task).
  static waker for_waiter(std::coroutine_handle<> h, thread_parker* parker, const char* what) {
    return parker ? waker(parker) : waker(make_waker(h, what));
  }
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

/// A waiter node's state (see the top of this file).
enum class wait_state : std::uint8_t { idle, waiting, woken, handed, closed, consumed };

/// The links of a wait queue: a node's, or a queue's sentinel (the queue is a ring through it,
/// so a node unlinks itself without knowing which queue it is in).
struct wait_links {
  wait_links* prev_ = nullptr;
  wait_links* next_ = nullptr;
};

/// One waiter. A primitive's node type derives from it and adds its own fields (written under
/// the primitive's lock while queued, by the owner otherwise).
class wait_node : wait_links {
 public:
  wait_node() noexcept = default;
  wait_node(const wait_node&) = delete;
  wait_node& operator=(const wait_node&) = delete;

  /// The owner, about to let its node go before resuming (its awaitable's destructor): true if
  /// it must call the primitive's abandon (queued, or handed something to pass on). Acquire,
  /// no lock: see "Abandon" above.
  bool must_abandon() const noexcept {
    wait_state s = state_.load(std::memory_order_acquire);
    return s == wait_state::waiting || s == wait_state::handed;
  }
  /// The owner, after it was woken (or never queued): how the wait ended. Relaxed: the wake
  /// ordered the release before us.
  wait_state outcome() const noexcept { return state_.load(std::memory_order_relaxed); }
  /// The owner, not queued: records an outcome it reached without waiting.
  void settle_self(wait_state s) noexcept { state_.store(s, std::memory_order_relaxed); }
  /// The owner resumed: the node is inert from now on.
  void consume() noexcept { state_.store(wait_state::consumed, std::memory_order_relaxed); }

 private:
  template <class>
  friend class wait_queue;
  friend struct wait_node_access;  // tests/model/fake_runtime.hpp

  waker waker_;
  atomic<wait_state> state_{wait_state::idle};
};

/// The intrusive FIFO of a primitive's waiters. Not thread-safe: every member is called with
/// the primitive's lock held (release_while releases it). Not movable (nodes point at it).
template <class Node>
class wait_queue {
  static_assert(std::is_base_of_v<wait_node, Node>, "a wait_queue holds nodes derived from wait_node");
#ifndef CORIO_MODEL_CHECK
  static constexpr std::size_t release_batch = waker_batch::capacity;
#else
  static constexpr std::size_t release_batch = 1;  // tests/model: the re-lock path with few waiters
#endif

 public:
  wait_queue() noexcept { end_.prev_ = end_.next_ = &end_; }
  wait_queue(const wait_queue&) = delete;
  wait_queue& operator=(const wait_queue&) = delete;
  ~wait_queue() = default;  // empty by then: every node was released or abandoned

  bool empty() const noexcept { return end_.next_ == &end_; }
  /// The longest waiter, or null.
  Node* front() const noexcept { return node(end_.next_); }
  /// The node queued after `n`, or null.
  Node* next(const Node& n) const noexcept { return node(static_cast<const wait_links&>(n).next_); }

  /// idle -> waiting: `n` waits at the tail, woken later through `w`.
  void enqueue(Node& n, waker&& w) noexcept {
    n.waker_ = std::move(w);
    n.state_.store(wait_state::waiting, std::memory_order_relaxed);
    wait_links& l = n;
    l.next_ = &end_;
    l.prev_ = end_.prev_;
    end_.prev_->next_ = &l;
    end_.prev_ = &l;
  }

  /// waiting -> `outcome`: unlinks `n` (a queued node) and returns its waker, to wake once the
  /// lock is released. The waker is moved out before the release store of the outcome.
  [[nodiscard]] waker release(Node& n, wait_state outcome) noexcept {
    unlink(n);
    waker w = std::move(n.waker_);
    n.state_.store(outcome, std::memory_order_release);
    return w;
  }

  /// Releases head nodes while `pred(Node&)` returns an outcome (anything but
  /// wait_state::waiting, which stops the walk), in batches (see the top of this file).
  /// Called with `lock` held; returns with it released.
  template <class Lock, class Pred>
  void release_while(std::unique_lock<Lock>& lock, Pred&& pred) noexcept {
    for (;;) {
      waker_batch batch;
      while (batch.size() < release_batch && !empty()) {
        Node& n = *front();
        wait_state s = pred(n);
        if (s == wait_state::waiting) break;
        batch.push(release(n, s));
      }
      bool more = batch.size() == release_batch;
      lock.unlock();
      batch.wake_all();
      if (!more) return;
      lock.lock();
    }
  }

  /// Moves every waiter, in order, to the back of `into` (a detached queue on the releaser's
  /// stack, guarded by the same lock): they stay `waiting` and may still abandon (a node
  /// unlinks itself from whichever queue it is in), and the releaser then empties `into` with
  /// release_while, while newcomers queue here.
  void detach_into(wait_queue& into) noexcept {
    if (empty()) return;
    wait_links* first = end_.next_;
    wait_links* last = end_.prev_;
    first->prev_ = into.end_.prev_;
    into.end_.prev_->next_ = first;
    last->next_ = &into.end_;
    into.end_.prev_ = last;
    end_.prev_ = end_.next_ = &end_;
  }

  /// The owner leaves (from the primitive's abandon, under the lock): a queued node is
  /// unlinked and its waker dropped; the node becomes `consumed`. Returns the state it was in:
  /// `handed` tells the primitive to pass on what the node owned.
  static wait_state abandon(Node& n) noexcept {
    wait_state s = n.state_.load(std::memory_order_relaxed);
    if (s == wait_state::waiting) {
      unlink(n);
      n.waker_.drop();
    }
    n.state_.store(wait_state::consumed, std::memory_order_relaxed);
    return s;
  }

 private:
  Node* node(const wait_links* l) const noexcept {
    return l == &end_ ? nullptr : static_cast<Node*>(static_cast<wait_node*>(const_cast<wait_links*>(l)));
  }
  static void unlink(wait_node& n) noexcept {
    wait_links& l = n;
    l.prev_->next_ = l.next_;
    l.next_->prev_ = l.prev_;
    l.prev_ = l.next_ = nullptr;
  }

  wait_links end_;  // the sentinel: end_.next_ is the head, end_.prev_ the tail
};

}  // namespace corio::detail
