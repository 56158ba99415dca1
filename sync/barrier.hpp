#pragma once
// corio::barrier — n tasks wait for each other, then all continue; reusable round after round.
//
//   corio::barrier b(4);
//   ... in each of 4 tasks:
//   auto r = co_await b.wait();      // the 4th arrival releases the other 3
//   if (r.is_leader()) ...           // exactly one task per round (the last to arrive)
//
// Fairness: a round ends when its n-th task arrives; it returns at once (as the leader) and
// every other task of the round is released. Tasks arriving after that belong to the next
// round. Cancellation: a task cancelled while it waits withdraws its arrival (the round then
// needs one more); once its round has ended, cancelling it changes nothing. Memory ordering:
// everything each task did before wait() happens-before every task of that round returning
// from it. Waiting allocates nothing. Plain threads take part through blocking_wait().

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "../runtime/detail/export.hpp"
#include "../runtime/detail/wait_queue.hpp"
#include "detail/spin_lock.hpp"

namespace corio {

class barrier;
namespace detail {
struct model_access;
}

/// What barrier::wait returns: whether this task was the one that completed the round.
class barrier_wait_result {
 public:
  /// `leader`: this task completed the round.
  explicit barrier_wait_result(bool leader) noexcept : leader_(leader) {}
  /// True for exactly one task of each round: the one whose arrival completed it.
  bool is_leader() const noexcept { return leader_; }

 private:
  bool leader_;
};

/// Returned by barrier::wait(). Movable until awaited.
class [[nodiscard]] CORIO_API barrier_wait_awaitable {
 public:
  /// Its wait (runtime/detail/wait_queue.hpp): released `woken` by its round's leader.
  struct waiter : detail::wait_node {
    std::uint64_t round = 0;
    bool leader = false;  ///< its own arrival completed the round (it never queued)
  };

  /// Moves an awaitable that has not been awaited yet (awaitables are returned by value).
  barrier_wait_awaitable(barrier_wait_awaitable&& o) noexcept : b_(o.b_) {}
  barrier_wait_awaitable& operator=(barrier_wait_awaitable&&) = delete;
  ~barrier_wait_awaitable();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  barrier_wait_result await_resume() noexcept {
    node_.consume();
    return barrier_wait_result(node_.leader);
  }

 private:
  friend class barrier;
  explicit barrier_wait_awaitable(barrier* b) noexcept : b_(b) {}
  barrier* b_;
  waiter node_;
};

/// A reusable barrier for a fixed number of tasks (see above). Any number of tasks and plain
/// threads may wait on one barrier at once.
class CORIO_API barrier {
 public:
  /// A barrier for `n` participants. Throws std::invalid_argument for 0.
  explicit barrier(std::size_t n);
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  /// Awaitable: arrives, and completes when the round is complete. Any task on any worker.
  ///
  /// **Cancel safety:** cancel-safe while the round is open: dropped, the task withdraws its
  /// arrival (the round needs one more). Once its round has completed, dropping it changes
  /// nothing (the round stays complete; only the leader flag is not observed).
  barrier_wait_awaitable wait() noexcept { return barrier_wait_awaitable(this); }
  /// wait() for plain threads. Throws usage_error on a worker thread.
  barrier_wait_result blocking_wait();
  /// The number of arrivals that complete a round.
  std::size_t size() const noexcept { return n_; }

 private:
  friend class barrier_wait_awaitable;
  friend struct detail::model_access;  // tests/model/sync_waiters_model.cpp
  using waiter = barrier_wait_awaitable::waiter;
  /// Arrives. True: this arrival completed the round (w is the leader). False: w waits.
  bool arrive(waiter& w, std::coroutine_handle<> h, detail::thread_parker* parker, const char* what);
  void abandon(waiter& w) noexcept;

  detail::spin_lock lock_;
  const std::size_t n_;
  std::size_t arrived_ = 0;
  std::uint64_t round_ = 0;
  detail::wait_queue<waiter> queue_;
};

}  // namespace corio
