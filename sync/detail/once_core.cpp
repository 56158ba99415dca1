// once_core. Waiter states: idle -> waiting -> ready (released by succeed) | initialize (handed
// the initialiser's role by fail) -> consumed. A node handed the role whose task is cancelled
// before it resumes passes the role on (abandon -> fail), so a failure is never swallowed.

#include "once_core.hpp"

#include <mutex>

#include "../../runtime/detail/context.hpp"

namespace corio::detail {

bool once_core::try_begin() noexcept {
  std::lock_guard g(lock_);
  if (status_.load(std::memory_order_relaxed) != status::empty) return false;
  status_.store(status::initializing, std::memory_order_relaxed);
  return true;
}

once_core::waiter::state once_core::begin(waiter& w, std::coroutine_handle<> h, const char* what) {
  std::lock_guard g(lock_);
  switch (status_.load(std::memory_order_relaxed)) {
    case status::ready:
      return waiter::state::ready;
    case status::empty:
      status_.store(status::initializing, std::memory_order_relaxed);
      return waiter::state::initialize;
    case status::initializing:
      break;
  }
  w.waker_ = waker(make_waker(h, what));
  w.state_.store(waiter::state::waiting, std::memory_order_relaxed);
  queue_.push_back(&w);
  return waiter::state::waiting;
}

void once_core::succeed() noexcept {
  std::unique_lock l(lock_);
  status_.store(status::ready, std::memory_order_release);
  for (;;) {
    waker_batch batch;
    while (!batch.full()) {
      waiter* w = queue_.pop_front();
      if (!w) break;
      batch.push(std::move(w->waker_));  // the waker before the state (release): see mpsc_chan.hpp
      w->state_.store(waiter::state::ready, std::memory_order_release);
    }
    bool more = batch.full();
    l.unlock();
    batch.wake_all();
    if (!more) return;
    l.lock();
  }
}

void once_core::fail() noexcept {
  waker next;
  {
    std::lock_guard g(lock_);
    waiter* w = queue_.pop_front();
    if (!w) {
      status_.store(status::empty, std::memory_order_relaxed);
      return;
    }
    next = std::move(w->waker_);  // the waker before the state (release): see mpsc_chan.hpp
    w->state_.store(waiter::state::initialize, std::memory_order_release);
  }
  next.wake();
}

void once_core::abandon(waiter& w) noexcept {
  {
    std::lock_guard g(lock_);
    waiter::state s = w.state_.load(std::memory_order_relaxed);
    w.state_.store(waiter::state::consumed, std::memory_order_relaxed);
    if (s == waiter::state::waiting) {
      queue_.remove(&w);
      w.waker_.drop();
      return;
    }
    if (s != waiter::state::initialize) return;
  }
  fail();
}

bool once_core::begin_awaitable::await_suspend(std::coroutine_handle<> h) {
  waiter::state s = c_->begin(node_, h, "corio::once_cell::get_or_init");
  if (s == waiter::state::waiting) return true;
  node_.state_.store(s, std::memory_order_relaxed);
  return resume_or_yield(h, "corio::once_cell::get_or_init");
}

}  // namespace corio::detail
