// mutex_core: the contended paths. Protocol in mutex_core.hpp.
//
// Waiter states: idle -> waiting (queued, waker in the node) -> granted (unlinked by the
// unlocker, who took the waker; the waiter now owns the mutex) -> consumed (the waiter's task
// resumed and built its guard). idle -> granted also happens when the lock is taken at once but
// the task must yield for its budget first. `waiting -> granted` happens under lock_.

#include "mutex_core.hpp"

#include <mutex>

#include "../../runtime/detail/context.hpp"
#include "../../runtime/detail/scheduler.hpp"

namespace corio::detail {

namespace {
#ifndef CORIO_MODEL_CHECK
constexpr int spin_limit = 32;
#else
constexpr int spin_limit = 2;  // tests/model: the same paths in fewer steps
#endif

/// Spinning only helps if the holder can be running on another CPU meanwhile: not when this
/// thread is the only worker of its runtime (the holder is then a suspended task here).
bool worth_spinning() noexcept {
  thread_context& c = this_thread();
  return !c.current_worker || !c.sched || c.sched->num_workers() > 1;
}
}  // namespace

bool mutex_core::lock_or_enqueue(waiter& w, std::coroutine_handle<> h, thread_parker* parker, const char* what) {
  for (int i = worth_spinning() ? 0 : spin_limit; i < spin_limit; ++i) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (s == 0) {
      if (state_.compare_exchange_weak(s, locked, std::memory_order_acquire, std::memory_order_relaxed)) return true;
      continue;
    }
    if (s & has_waiters) break;  // queue behind them
    cpu_relax();
  }
  // Made before taking lock_ (it may throw); dropped unused if the mutex came free meanwhile.
  waker wk = parker ? waker(parker) : waker(make_waker(h, what));
  std::lock_guard g(lock_);
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (s == 0) {
      if (state_.compare_exchange_weak(s, locked, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    } else if (s & has_waiters) {
      break;
    } else if (state_.compare_exchange_weak(s, locked | has_waiters, std::memory_order_relaxed,
                                            std::memory_order_relaxed)) {
      break;
    }
  }
  w.waker_ = std::move(wk);
  w.state_.store(waiter::state::waiting, std::memory_order_relaxed);
  queue_.push_back(&w);
  return false;
}

void mutex_core::unlock_slow() noexcept {
  waker next;
  {
    std::lock_guard g(lock_);
    waiter* w = queue_.pop_front();
    if (!w) {  // the last waiter left (cancelled) after we failed the fast path
      state_.store(0, std::memory_order_release);
      return;
    }
    if (queue_.empty()) state_.store(locked, std::memory_order_relaxed);  // ownership passes to w
    next = std::move(w->waker_);  // the waker before the state (release): see mpsc_chan.hpp
    w->state_.store(waiter::state::granted, std::memory_order_release);
  }
  // Our writes to the protected value reach the new owner through the wake (a release of the
  // task's state word, or the parker's mutex) and lock_'s release above.
  next.wake();
}

void mutex_core::abandon(waiter& w) noexcept {
  {
    std::lock_guard g(lock_);
    waiter::state s = w.state_.load(std::memory_order_relaxed);
    if (s == waiter::state::waiting) {
      queue_.remove(&w);
      if (queue_.empty()) state_.fetch_and(~has_waiters, std::memory_order_relaxed);
      w.waker_.drop();
      w.state_.store(waiter::state::consumed, std::memory_order_relaxed);
      return;
    }
    if (s != waiter::state::granted) return;
    w.state_.store(waiter::state::consumed, std::memory_order_relaxed);
  }
  unlock();  // handed to us but never used: pass it on
}

}  // namespace corio::detail
