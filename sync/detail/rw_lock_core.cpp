// rw_lock_core. A waiter is released `handed` by grant_and_unlock, which counts it as a reader
// or the writer under the lock; idle -> handed when taken at once but the task yields for its
// budget first.

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
  queue_.enqueue(w, waker::for_waiter(h, parker, what));
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
  queue_.release_while(l, [this](waiter& w) {
    if (writer_ || (w.writer && readers_ != 0)) return wait_state::waiting;
    if (w.writer)
      writer_ = true;
    else
      ++readers_;
    return wait_state::handed;
  });
}

void rw_lock_core::abandon(waiter& w) noexcept {
  std::unique_lock l(lock_);
  switch (queue_.abandon(w)) {
    case wait_state::waiting:
      break;  // a writer that leaves the head may let readers behind it in
    case wait_state::handed:
      if (w.writer)
        writer_ = false;
      else
        --readers_;
      break;
    default:
      return;
  }
  grant_and_unlock(l);
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
