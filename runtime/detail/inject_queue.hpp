#pragma once
// The runtime's injection queue: tasks spawned or woken from outside the workers, and the
// overflow of full local queues. A mutex-protected FIFO; `size_` lets workers check for work
// without taking the lock. After close() nothing more is accepted (shutdown).

#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

#include "atomic.hpp"
#include "task_header.hpp"

namespace corio::detail {

class inject_queue {
 public:
  /// Appends tasks; returns false (and takes nothing) once closed.
  bool push(task_header* const* ts, std::size_t n) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    tasks_.insert(tasks_.end(), ts, ts + n);
    size_.store(tasks_.size(), std::memory_order_release);
    return true;
  }
  bool push(task_header* t) { return push(&t, 1); }

  /// Takes up to `max` tasks into `out`; returns how many.
  std::size_t pop(task_header** out, std::size_t max) {
    if (size_.load(std::memory_order_acquire) == 0) return 0;
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    while (n < max && !tasks_.empty()) {
      out[n++] = tasks_.front();
      tasks_.pop_front();
    }
    size_.store(tasks_.size(), std::memory_order_release);
    return n;
  }
  task_header* pop() {
    task_header* t = nullptr;
    return pop(&t, 1) ? t : nullptr;
  }

  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  bool empty() const noexcept { return size() == 0; }

  /// Refuses further pushes; returns what was queued so the caller can release it.
  std::deque<task_header*> close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    size_.store(0, std::memory_order_release);
    return std::exchange(tasks_, {});
  }

 private:
  mutex mutex_;
  std::deque<task_header*> tasks_;
  atomic<std::size_t> size_{0};
  bool closed_ = false;
};

}  // namespace corio::detail
