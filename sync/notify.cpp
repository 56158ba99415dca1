// notify: a FIFO list of waiter nodes (in the awaiting frames) under one mutex.
// Node states: idle -> waiting (linked) -> notified_one | notified_all (unlinked, waker handed
// to the notifier) -> consumed (the task resumed). All transitions except the last happen
// under the mutex; the last happens in the resumed task, after the wake.
//
// notify_all() allocates nothing: it bumps the generation, then takes the waiters in rounds of
// at most waker_batch::capacity under the mutex and wakes each round with the mutex released.
// It takes only waiters linked before its bump (generation_ older than the new one): a waiter
// links only while its generation is current, so generations never decrease along the list
// and those that came later are all behind the ones it must wake.

#include "notify.hpp"

#include <utility>

#include "../runtime/detail/context.hpp"
#include "detail/waiter.hpp"

namespace corio {

notified_awaitable notify::notified() noexcept {
  std::lock_guard lock(mutex_);
  return notified_awaitable(*this, generation_);
}

void notify::unlink_locked(notified_awaitable* w) noexcept {
  (w->prev_ ? w->prev_->next_ : head_) = w->next_;
  (w->next_ ? w->next_->prev_ : tail_) = w->prev_;
  w->prev_ = w->next_ = nullptr;
}

void notify::notify_one() noexcept {
  detail::task_header* waker = nullptr;
  {
    std::lock_guard lock(mutex_);
    notified_awaitable* w = head_;
    if (!w) {
      permit_ = true;
      return;
    }
    unlink_locked(w);
    w->state_.store(notified_awaitable::state::notified_one, std::memory_order_relaxed);
    waker = std::exchange(w->waker_, nullptr);
  }
  detail::wake(waker);
}

void notify::notify_all() noexcept {
  std::uint64_t mine;
  {
    std::lock_guard lock(mutex_);
    mine = ++generation_;
  }
  for (;;) {
    detail::waker_batch batch;  // woken as the loop body ends, with the mutex released
    {
      std::lock_guard lock(mutex_);
      while (!batch.full()) {
        notified_awaitable* w = head_;
        if (!w || w->generation_ >= mine) break;  // none left from before our call
        unlink_locked(w);
        w->state_.store(notified_awaitable::state::notified_all, std::memory_order_relaxed);
        batch.push(detail::waker(std::exchange(w->waker_, nullptr)));
      }
      if (!batch.full()) break;
    }
  }
}

bool notified_awaitable::await_suspend(std::coroutine_handle<> h) {
  detail::task_header* w = detail::make_waker(h, "corio::notify::notified");
  {
    std::lock_guard lock(n_->mutex_);
    bool ready = n_->permit_ || n_->generation_ != generation_;
    if (!ready) {
      waker_ = w;
      state_.store(state::waiting, std::memory_order_relaxed);
      prev_ = n_->tail_;
      (n_->tail_ ? n_->tail_->next_ : n_->head_) = this;
      n_->tail_ = this;
      return true;
    }
    if (n_->generation_ == generation_) n_->permit_ = false;  // consume the permit
    state_.store(state::consumed, std::memory_order_relaxed);
  }
  w->drop_ref();
  return false;
}

notified_awaitable::~notified_awaitable() {
  state s = state_.load(std::memory_order_relaxed);
  if (s == state::idle || s == state::consumed) return;
  bool pass_on = false;
  {
    std::lock_guard lock(n_->mutex_);
    s = state_.load(std::memory_order_relaxed);
    if (s == state::waiting) {
      n_->unlink_locked(this);
      std::exchange(waker_, nullptr)->drop_ref();
    } else {
      pass_on = s == state::notified_one;  // woken but never resumed: don't lose it
    }
  }
  if (pass_on) n_->notify_one();
}

}  // namespace corio
