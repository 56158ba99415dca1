// mutex_core: the contended paths. Protocol in mutex_core.hpp.
//
// Waiters follow the wait queue's states (runtime/detail/wait_queue.hpp): `handed` is "owns the
// lock", reached by the unlocker's hand-off under lock_, or by the waiter itself (idle ->
// handed) when it took the lock at once but must yield for its budget first.

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
  waker wk = waker::for_waiter(h, parker, what);
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
  queue_.enqueue(w, std::move(wk));
  return false;
}

void mutex_core::unlock_slow() noexcept {
  waker next;
  {
    std::lock_guard g(lock_);
    waiter* w = queue_.front();
    if (!w) {  // the last waiter left (cancelled) after we failed the fast path
      state_.store(0, std::memory_order_release);
      return;
    }
    next = queue_.release(*w, wait_state::handed);  // ownership passes to w
    if (queue_.empty()) state_.store(locked, std::memory_order_relaxed);
  }
  // Our writes to the protected value reach the new owner through the wake (a release of the
  // task's state word, or the parker's mutex) and lock_'s release above.
  next.wake();
}

void mutex_core::abandon(waiter& w) noexcept {
  wait_state s;
  {
    std::lock_guard g(lock_);
    s = queue_.abandon(w);
    if (s == wait_state::waiting && queue_.empty()) state_.fetch_and(~has_waiters, std::memory_order_relaxed);
  }
  if (s == wait_state::handed) unlock();  // handed to us but never used: pass it on
}

}  // namespace corio::detail
