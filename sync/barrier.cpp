// barrier: a wait queue (runtime/detail/wait_queue.hpp) behind a spin lock. The arrival that
// completes a round is its leader (it never queues); it releases its round's waiters `woken`
// from the head of the queue, in the wait queue's batches. Arrivals of the next round queue
// behind them with a greater round number, so they are never released early.

#include "barrier.hpp"

#include <mutex>
#include <stdexcept>

#include "../runtime/detail/context.hpp"

namespace corio {

barrier::barrier(std::size_t n) : n_(n) {
  if (n == 0) throw std::invalid_argument("corio::barrier: needs at least one participant");
}

bool barrier::arrive(waiter& w, std::coroutine_handle<> h, detail::thread_parker* parker, const char* what) {
  std::unique_lock l(lock_);
  if (arrived_ + 1 < n_) {
    w.round = round_;
    queue_.enqueue(w, detail::waker::for_waiter(h, parker, what));
    ++arrived_;
    return false;
  }
  arrived_ = 0;
  const std::uint64_t ended = round_++;
  w.leader = true;
  queue_.release_while(l, [ended](waiter& x) { return x.round == ended ? detail::wait_state::woken : detail::wait_state::waiting; });
  return true;
}

void barrier::abandon(waiter& w) noexcept {
  std::lock_guard g(lock_);
  if (queue_.abandon(w) == detail::wait_state::waiting && w.round == round_)
    --arrived_;  // its round is still open: withdraw the arrival
}

barrier_wait_result barrier::blocking_wait() {
  detail::check_may_block("corio::barrier::blocking_wait");
  waiter w;
  detail::thread_parker parker;
  if (arrive(w, {}, &parker, "corio::barrier::blocking_wait")) return barrier_wait_result(true);
  parker.park();
  return barrier_wait_result(false);
}

barrier_wait_awaitable::~barrier_wait_awaitable() {
  if (node_.must_abandon()) b_->abandon(node_);
}

bool barrier_wait_awaitable::await_suspend(std::coroutine_handle<> h) {
  if (!b_->arrive(node_, h, nullptr, "corio::barrier::wait")) return true;
  return detail::resume_or_yield(h, "corio::barrier::wait");
}

}  // namespace corio
