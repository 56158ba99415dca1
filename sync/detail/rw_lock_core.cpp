// rw_lock_core. Waiter states: idle -> waiting -> granted (by grant_and_unlock, under the lock,
// which also counts the waiter as a reader or the writer) -> consumed (its task resumed and
// built a guard). idle -> granted when taken at once but the task yields for its budget first.

#include "rw_lock_core.hpp"

#include "../../runtime/detail/context.hpp"

namespace corio::detail {

bool rw_lock_core::try_acquire(bool writer) noexcept {
  std::lock_guard g(lock_);
  if (writer_ || !queue_.empty()) return false;
  if (writer) {
    if (readers_ != 0) return false;
    writer_ = true;
  } else {
    ++readers_;
  }
  return true;
}

bool rw_lock_core::acquire_or_enqueue(waiter& w, bool writer, std::coroutine_handle<> h, thread_parker* parker,
                                      const char* what) {
  std::lock_guard g(lock_);
  if (!writer_ && queue_.empty()) {
    if (!writer) {
      ++readers_;
      return true;
    }
    if (readers_ == 0) {
      writer_ = true;
      return true;
    }
  }
  w.writer = writer;
  w.waker_ = parker ? waker(parker) : waker(make_waker(h, what));
  w.state_.store(waiter::state::waiting, std::memory_order_relaxed);
  queue_.push_back(&w);
  return false;
}

void rw_lock_core::release(bool writer) noexcept {
  std::unique_lock l(lock_);
  if (writer)
    writer_ = false;
  else
    --readers_;
  grant_and_unlock(l);
}

void rw_lock_core::grant_and_unlock(std::unique_lock<spin_lock>& l) noexcept {
  for (;;) {
    waker_batch batch;
    while (!batch.full()) {
      waiter* w = queue_.front();
      if (!w || writer_ || (w->writer && readers_ != 0)) break;
      if (w->writer)
        writer_ = true;
      else
        ++readers_;
      queue_.pop_front();
      batch.push(std::move(w->waker_));  // the waker before the state (release): see mpsc_chan.hpp
      w->state_.store(waiter::state::granted, std::memory_order_release);
    }
    bool more = batch.full();
    l.unlock();
    batch.wake_all();
    if (!more) return;
    l.lock();  // more readers to let in
  }
}

void rw_lock_core::abandon(waiter& w) noexcept {
  std::unique_lock l(lock_);
  waiter::state s = w.state_.load(std::memory_order_relaxed);
  w.state_.store(waiter::state::consumed, std::memory_order_relaxed);
  if (s == waiter::state::waiting) {
    queue_.remove(&w);
    w.waker_.drop();
    grant_and_unlock(l);  // a writer that leaves the head may let readers behind it in
  } else if (s == waiter::state::granted) {
    if (w.writer)
      writer_ = false;
    else
      --readers_;
    grant_and_unlock(l);
  }
}

std::size_t rw_lock_core::readers() noexcept {
  std::lock_guard g(lock_);
  return readers_;
}

bool rw_lock_core::write_locked() noexcept {
  std::lock_guard g(lock_);
  return writer_;
}

}  // namespace corio::detail
