// notify: a wait queue (runtime/detail/wait_queue.hpp) under a spin lock, a permit and a
// generation count. notify_one releases the head `handed` (a dropped waiter passes it on);
// notify_all releases `woken` every waiter created before its call.
//
// notify_all() allocates nothing: it bumps the generation (so that a notified() created before
// it completes at once), moves every waiter onto a detached queue on its stack, and releases
// that one in the wait queue's batches; waiters that come meanwhile queue for the next
// notification.

#include "notify.hpp"

#include <mutex>
#include <utility>

#include "../runtime/detail/context.hpp"

namespace corio {

using detail::wait_state;

notified_awaitable notify::notified() noexcept {
  std::lock_guard g(lock_);
  return notified_awaitable(*this, generation_);
}

void notify::notify_one() noexcept {
  detail::waker w;
  {
    std::lock_guard g(lock_);
    waiter* n = queue_.front();
    if (!n) {
      permit_ = true;
      return;
    }
    w = queue_.release(*n, wait_state::handed);
  }
  w.wake();
}

void notify::notify_all() noexcept {
  detail::wait_queue<waiter> now;  // every waiter present at this call
  std::unique_lock l(lock_);
  ++generation_;
  queue_.detach_into(now);
  now.release_while(l, [](waiter&) { return wait_state::woken; });
}

void notify::abandon(waiter& w) noexcept {
  wait_state s;
  {
    std::lock_guard g(lock_);
    s = queue_.abandon(w);
  }
  if (s == wait_state::handed) notify_one();  // woken but never resumed: don't lose it
}

notified_awaitable::~notified_awaitable() {
  if (node_.must_abandon()) n_->abandon(node_);
}

bool notified_awaitable::await_suspend(std::coroutine_handle<> h) {
  detail::waker w(detail::make_waker(h, "corio::notify::notified"));
  {
    std::lock_guard g(n_->lock_);
    if (!n_->permit_ && n_->generation_ == node_.generation) {
      n_->queue_.enqueue(node_, std::move(w));
      return true;
    }
    if (n_->generation_ == node_.generation) n_->permit_ = false;  // consume the permit
  }
  node_.consume();
  return false;  // (w is dropped unused)
}

}  // namespace corio
