#pragma once
// The counter behind corio::latch and corio::wait_group: a count, and the tasks/threads waiting
// for it to reach zero, behind a spin lock.
//
// Each time the count reaches zero a new round starts (round_++); waiters remember the round
// they joined and are released when it ends. Releasing takes them from the head of the queue
// in the wait queue's batches (runtime/detail/wait_queue.hpp), `woken`; later joiners, of a
// later round, are queued behind them and are not released by mistake.

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/detail/wait_queue.hpp"
#include "spin_lock.hpp"

namespace corio::detail {

class CORIO_API countdown {
 public:
  struct waiter : wait_node {
    std::uint64_t round = 0;
  };

  explicit countdown(std::size_t count) noexcept : count_(count) {}
  countdown(const countdown&) = delete;
  countdown& operator=(const countdown&) = delete;

  std::size_t count() noexcept;
  void add(std::size_t n, const char* what);
  /// Subtracts `n`; releases the waiters when the count reaches zero. Throws
  /// std::invalid_argument (naming `what`) if n exceeds the count, changing nothing.
  void sub(std::size_t n, const char* what);
  /// True if the count is zero now; otherwise queues `w` and returns false.
  bool wait_or_enqueue(waiter& w, std::coroutine_handle<> h, thread_parker* parker, const char* what);
  void abandon(waiter& w) noexcept;

 private:
  spin_lock lock_;
  std::size_t count_;
  std::uint64_t round_ = 0;
  wait_queue<waiter> queue_;
};

/// Awaitable returned by latch::wait / wait_group::wait. Movable until awaited.
class [[nodiscard]] CORIO_API countdown_awaitable {
 public:
  countdown_awaitable(countdown& c, const char* what) noexcept : c_(&c), what_(what) {}
  countdown_awaitable(countdown_awaitable&& o) noexcept : c_(o.c_), what_(o.what_) {}
  countdown_awaitable& operator=(countdown_awaitable&&) = delete;
  ~countdown_awaitable() {
    if (node_.must_abandon()) c_->abandon(node_);
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() noexcept { node_.consume(); }

 private:
  countdown* c_;
  const char* what_;
  countdown::waiter node_;
};

/// Blocks a plain thread until `c` reaches zero (usage_error on a worker thread).
CORIO_API void countdown_blocking_wait(countdown& c, const char* what);

}  // namespace corio::detail
