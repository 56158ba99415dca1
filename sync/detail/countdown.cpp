// countdown. A waiter is released `woken` by the thread that ended its round. A waiting node
// whose round has already ended but which the releasing thread has not reached yet is simply
// unlinked if its task is cancelled.

#include "countdown.hpp"

#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "../../runtime/detail/context.hpp"

namespace corio::detail {

std::size_t countdown::count() noexcept {
  std::lock_guard g(lock_);
  return count_;
}

void countdown::add(std::size_t n, const char* what) {
  std::lock_guard g(lock_);
  if (n > std::numeric_limits<std::size_t>::max() - count_)
    throw std::overflow_error(std::string(what) + ": the count would overflow");
  count_ += n;
}

void countdown::sub(std::size_t n, const char* what) {
  std::unique_lock l(lock_);
  if (n > count_)
    throw std::invalid_argument(std::string(what) + ": counted down by " + std::to_string(n) + " with only " +
                                std::to_string(count_) + " left");
  if (n == 0) return;
  count_ -= n;
  if (count_ != 0) return;
  const std::uint64_t ended = round_++;
  queue_.release_while(l, [ended](waiter& w) { return w.round == ended ? wait_state::woken : wait_state::waiting; });
}

bool countdown::wait_or_enqueue(waiter& w, std::coroutine_handle<> h, thread_parker* parker, const char* what) {
  std::lock_guard g(lock_);
  if (count_ == 0) return true;
  w.round = round_;
  queue_.enqueue(w, waker::for_waiter(h, parker, what));
  return false;
}

void countdown::abandon(waiter& w) noexcept {
  std::lock_guard g(lock_);
  queue_.abandon(w);
}

bool countdown_awaitable::await_suspend(std::coroutine_handle<> h) {
  if (!c_->wait_or_enqueue(node_, h, nullptr, what_)) return true;
  return resume_or_yield(h, what_);
}

void countdown_blocking_wait(countdown& c, const char* what) {
  check_may_block(what);
  countdown::waiter w;
  thread_parker parker;
  if (!c.wait_or_enqueue(w, {}, &parker, what)) parker.park();
}

}  // namespace corio::detail
