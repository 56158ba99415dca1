// once_core. Protocol in once_core.hpp: a waiter is released `woken` by succeed, or `handed`
// the initialiser's role by fail.

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

wait_state once_core::begin(waiter& w, std::coroutine_handle<> h, const char* what) {
  std::lock_guard g(lock_);
  switch (status_.load(std::memory_order_relaxed)) {
    case status::ready:
      return wait_state::woken;
    case status::empty:
      status_.store(status::initializing, std::memory_order_relaxed);
      return wait_state::handed;
    case status::initializing:
      break;
  }
  queue_.enqueue(w, waker(make_waker(h, what)));
  return wait_state::waiting;
}

void once_core::succeed() noexcept {
  std::unique_lock l(lock_);
  status_.store(status::ready, std::memory_order_release);
  queue_.release_while(l, [](waiter&) { return wait_state::woken; });
}

void once_core::fail() noexcept {
  waker next;
  {
    std::lock_guard g(lock_);
    waiter* w = queue_.front();
    if (!w) {
      status_.store(status::empty, std::memory_order_relaxed);
      return;
    }
    next = queue_.release(*w, wait_state::handed);
  }
  next.wake();
}

void once_core::abandon(waiter& w) noexcept {
  wait_state s;
  {
    std::lock_guard g(lock_);
    s = queue_.abandon(w);
  }
  if (s == wait_state::handed) fail();  // handed the role but never ran: pass it on
}

bool once_core::begin_awaitable::await_suspend(std::coroutine_handle<> h) {
  wait_state s = c_->begin(node_, h, "corio::once_cell::get_or_init");
  if (s == wait_state::waiting) return true;
  node_.settle_self(s);
  return resume_or_yield(h, "corio::once_cell::get_or_init");
}

}  // namespace corio::detail
