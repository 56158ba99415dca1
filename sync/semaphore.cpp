// semaphore. Waiter states: idle -> waiting -> granted (all `wanted` permits collected, taken
// out of the queue by distribute_and_unlock) | closed (by close()) -> consumed. Only the head
// waiter collects permits (`got`), so a partial collection is always at the head, and a
// cancelled waiter returns what it got before leaving.

#include "semaphore.hpp"

#include <algorithm>
#include <limits>
#include <mutex>

#include "../runtime/detail/context.hpp"
#include "../runtime/error.hpp"

namespace corio {

namespace {
constexpr const char* closed_message = "corio::semaphore: acquire on a closed semaphore";
}

void semaphore_permit::release() noexcept {
  if (s_ && n_) s_->release(n_);
  s_ = nullptr;
  n_ = 0;
}

void semaphore_permit::merge(semaphore_permit&& other) {
  if (other.s_ && s_ && other.s_ != s_)
    throw usage_error("corio::semaphore_permit::merge: the permits come from different semaphores");
  if (!s_) s_ = other.s_;
  n_ += std::exchange(other.n_, 0);
  other.s_ = nullptr;
}

semaphore::outcome semaphore::acquire_or_enqueue(waiter& w, std::coroutine_handle<> h, detail::thread_parker* parker,
                                                 const char* what) {
  std::lock_guard g(lock_);
  if (closed_) return outcome::closed;
  if (queue_.empty() && permits_ >= w.wanted) {
    permits_ -= w.wanted;
    return outcome::granted;
  }
  w.waker_ = parker ? detail::waker(parker) : detail::waker(detail::make_waker(h, what));
  if (queue_.empty()) {  // the new head collects what there is
    w.got = permits_;
    permits_ = 0;
  }
  w.state_.store(waiter::state::waiting, std::memory_order_relaxed);
  queue_.push_back(&w);
  return outcome::queued;
}

std::optional<semaphore_permit> semaphore::try_acquire(std::size_t n) {
  std::lock_guard g(lock_);
  if (closed_) throw semaphore_closed(closed_message);
  if (!queue_.empty() || permits_ < n) return std::nullopt;
  permits_ -= n;
  return semaphore_permit(this, n);
}

semaphore_permit semaphore::blocking_acquire(std::size_t n) {
  detail::check_may_block("corio::semaphore::blocking_acquire");
  waiter w;
  w.wanted = n;
  detail::thread_parker parker;
  switch (acquire_or_enqueue(w, {}, &parker, "corio::semaphore::blocking_acquire")) {
    case outcome::granted:
      return semaphore_permit(this, n);
    case outcome::closed:
      throw semaphore_closed(closed_message);
    case outcome::queued:
      break;
  }
  parker.park();
  if (w.state_.load(std::memory_order_relaxed) == waiter::state::closed) throw semaphore_closed(closed_message);
  return semaphore_permit(this, n);
}

void semaphore::add_permits(std::size_t n) {
  {
    std::lock_guard g(lock_);
    std::size_t held = permits_;
    for (waiter* w = queue_.front(); w; w = w->next_) held += w->got;  // only the head has any
    if (n > std::numeric_limits<std::size_t>::max() - held)
      throw std::overflow_error("corio::semaphore::add_permits: the permit count would overflow");
  }
  release(n);
}

void semaphore::release(std::size_t n) noexcept {
  std::unique_lock l(lock_);
  permits_ += n;
  distribute_and_unlock(l);
}

void semaphore::distribute_and_unlock(std::unique_lock<detail::spin_lock>& l) noexcept {
  for (;;) {
    detail::waker_batch batch;
    while (!batch.full() && permits_ > 0) {
      waiter* w = queue_.front();
      if (!w) break;
      std::size_t take = std::min(permits_, w->wanted - w->got);
      w->got += take;
      permits_ -= take;
      if (w->got < w->wanted) break;
      queue_.pop_front();
      batch.push(std::move(w->waker_));  // the waker before the state (release): see mpsc_chan.hpp
      w->state_.store(waiter::state::granted, std::memory_order_release);
    }
    // A zero-permit request behind a satisfied head completes too.
    while (!batch.full() && !queue_.empty() && queue_.front()->wanted == queue_.front()->got) {
      waiter* w = queue_.pop_front();
      batch.push(std::move(w->waker_));  // the waker before the state (release): see mpsc_chan.hpp
      w->state_.store(waiter::state::granted, std::memory_order_release);
    }
    bool more = batch.full();
    l.unlock();
    batch.wake_all();
    if (!more) return;
    l.lock();
  }
}

void semaphore::abandon(waiter& w) noexcept {
  std::unique_lock l(lock_);
  waiter::state s = w.state_.load(std::memory_order_relaxed);
  w.state_.store(waiter::state::consumed, std::memory_order_relaxed);
  if (s == waiter::state::waiting) {
    queue_.remove(&w);
    w.waker_.drop();
    permits_ += std::exchange(w.got, 0);
  } else if (s == waiter::state::granted) {
    permits_ += w.wanted;
  } else {
    return;
  }
  distribute_and_unlock(l);
}

void semaphore::close() noexcept {
  for (;;) {
    detail::waker_batch batch;
    std::lock_guard g(lock_);
    closed_ = true;
    while (!batch.full()) {
      waiter* w = queue_.pop_front();
      if (!w) return;
      permits_ += std::exchange(w->got, 0);
      batch.push(std::move(w->waker_));  // the waker before the state (release): see mpsc_chan.hpp
      w->state_.store(waiter::state::closed, std::memory_order_release);
    }
  }
}

bool semaphore::is_closed() noexcept {
  std::lock_guard g(lock_);
  return closed_;
}

std::size_t semaphore::available_permits() noexcept {
  std::lock_guard g(lock_);
  return permits_;
}

// --- the awaitable ---------------------------------------------------------------------------

semaphore_acquire_awaitable::~semaphore_acquire_awaitable() {
  // acquire: the releaser moved the waker out before its release store, and ~waker reads it
  waiter::state s = node_.state_.load(std::memory_order_acquire);
  if (s == waiter::state::waiting || s == waiter::state::granted) s_->abandon(node_);
}

bool semaphore_acquire_awaitable::await_suspend(std::coroutine_handle<> h) {
  switch (s_->acquire_or_enqueue(node_, h, nullptr, "corio::semaphore::acquire")) {
    case semaphore::outcome::queued:
      return true;
    case semaphore::outcome::closed:
      node_.state_.store(waiter::state::closed, std::memory_order_relaxed);
      return false;
    case semaphore::outcome::granted:
      break;
  }
  node_.state_.store(waiter::state::granted, std::memory_order_relaxed);
  return detail::resume_or_yield(h, "corio::semaphore::acquire");
}

semaphore_permit semaphore_acquire_awaitable::await_resume() {
  if (node_.state_.exchange(waiter::state::consumed, std::memory_order_relaxed) == waiter::state::closed)
    throw semaphore_closed(closed_message);
  return semaphore_permit(s_, node_.wanted);
}

}  // namespace corio
