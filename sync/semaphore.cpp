// semaphore: a wait queue (runtime/detail/wait_queue.hpp) behind a spin lock. A waiter is
// released `handed` once all its `wanted` permits are collected (distribute_and_unlock), or
// `closed` by close(). Only the head waiter collects permits (`got`), so a partial collection
// is always at the head, and a cancelled waiter returns what it got (or was handed) before
// leaving.

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
  detail::waker wk = detail::waker::for_waiter(h, parker, what);
  if (queue_.empty()) {  // the new head collects what there is
    w.got = permits_;
    permits_ = 0;
  }
  queue_.enqueue(w, std::move(wk));
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
  if (w.outcome() == detail::wait_state::closed) throw semaphore_closed(closed_message);
  return semaphore_permit(this, n);
}

void semaphore::add_permits(std::size_t n) {
  {
    std::lock_guard g(lock_);
    std::size_t held = permits_;
    for (waiter* w = queue_.front(); w; w = queue_.next(*w)) held += w->got;  // only the head has any
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
  // The head collects what there is; it is released once it has all it wants (a zero-permit
  // request behind a satisfied head completes too).
  queue_.release_while(l, [this](waiter& w) {
    std::size_t take = std::min(permits_, w.wanted - w.got);
    w.got += take;
    permits_ -= take;
    return w.got == w.wanted ? detail::wait_state::handed : detail::wait_state::waiting;
  });
}

void semaphore::abandon(waiter& w) noexcept {
  std::unique_lock l(lock_);
  switch (queue_.abandon(w)) {
    case detail::wait_state::waiting:
      permits_ += std::exchange(w.got, 0);
      break;
    case detail::wait_state::handed:
      permits_ += w.wanted;
      break;
    default:
      return;
  }
  distribute_and_unlock(l);
}

void semaphore::close() noexcept {
  std::unique_lock l(lock_);
  closed_ = true;
  queue_.release_while(l, [this](waiter& w) {
    permits_ += std::exchange(w.got, 0);
    return detail::wait_state::closed;
  });
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
  if (node_.must_abandon()) s_->abandon(node_);
}

bool semaphore_acquire_awaitable::await_suspend(std::coroutine_handle<> h) {
  switch (s_->acquire_or_enqueue(node_, h, nullptr, "corio::semaphore::acquire")) {
    case semaphore::outcome::queued:
      return true;
    case semaphore::outcome::closed:
      node_.settle_self(detail::wait_state::closed);
      return false;
    case semaphore::outcome::granted:
      break;
  }
  node_.settle_self(detail::wait_state::handed);
  return detail::resume_or_yield(h, "corio::semaphore::acquire");
}

semaphore_permit semaphore_acquire_awaitable::await_resume() {
  detail::wait_state s = node_.outcome();
  node_.consume();
  if (s == detail::wait_state::closed) throw semaphore_closed(closed_message);
  return semaphore_permit(s_, node_.wanted);
}

}  // namespace corio
