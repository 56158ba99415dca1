// barrier. Waiter states: idle -> leader (its arrival completed the round) | waiting ->
// released (taken out of the queue by the leader) -> consumed. The leader releases its round's
// waiters from the head of the queue in batches; arrivals of the next round queue behind them
// with a greater round number, so they are never released early.

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
    w.waker_ = parker ? detail::waker(parker) : detail::waker(detail::make_waker(h, what));
    w.round = round_;
    w.state_.store(waiter::state::waiting, std::memory_order_relaxed);
    queue_.push_back(&w);
    ++arrived_;
    return false;
  }
  arrived_ = 0;
  const std::uint64_t ended = round_++;
  w.state_.store(waiter::state::leader, std::memory_order_relaxed);
  for (;;) {
    detail::waker_batch batch;
    while (!batch.full()) {
      waiter* x = queue_.front();
      if (!x || x->round != ended) break;
      queue_.pop_front();
      batch.push(std::move(x->waker_));  // the waker before the state (release): see mpsc_chan.hpp
      x->state_.store(waiter::state::released, std::memory_order_release);
    }
    bool more = batch.full();
    l.unlock();
    batch.wake_all();
    if (!more) return true;
    l.lock();
  }
}

void barrier::abandon(waiter& w) noexcept {
  std::lock_guard g(lock_);
  if (w.state_.load(std::memory_order_relaxed) != waiter::state::waiting) return;
  queue_.remove(&w);
  w.waker_.drop();
  w.state_.store(waiter::state::consumed, std::memory_order_relaxed);
  if (w.round == round_) --arrived_;  // its round is still open: withdraw the arrival
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
  // acquire: the releaser moved the waker out before its release store, and ~waker reads it
  if (node_.state_.load(std::memory_order_acquire) == waiter::state::waiting) b_->abandon(node_);
}

bool barrier_wait_awaitable::await_suspend(std::coroutine_handle<> h) {
  if (!b_->arrive(node_, h, nullptr, "corio::barrier::wait")) return true;
  return detail::resume_or_yield(h, "corio::barrier::wait");
}

}  // namespace corio
