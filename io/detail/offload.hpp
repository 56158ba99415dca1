#pragma once
// Runs a blocking function on a short-lived helper thread and resumes the awaiting task with
// its result (or exception). For the few blocking calls of the I/O layer (getaddrinfo); the
// state is shared with the thread, so aborting the task while the call runs is safe: the call
// finishes, its result is dropped.

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "../../runtime/detail/context.hpp"
#include "../../runtime/detail/task_header.hpp"

namespace corio::detail {

template <class T>
class [[nodiscard]] offload_awaitable {
  struct state {
    std::mutex mutex;
    std::optional<T> value;
    std::exception_ptr error;
    task_header* waker = nullptr;
    bool done = false;
  };

 public:
  template <class F>
  explicit offload_awaitable(F&& f) : fn_(std::forward<F>(f)), st_(std::make_shared<state>()) {}
  offload_awaitable(offload_awaitable&&) = default;
  ~offload_awaitable() {
    if (!st_) return;
    std::lock_guard lock(st_->mutex);
    if (st_->waker) std::exchange(st_->waker, nullptr)->drop_ref();  // aborted while waiting
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    st_->waker = make_waker(h, "corio: blocking call");
    std::thread([st = st_, fn = std::move(fn_)]() mutable {
      std::optional<T> v;
      std::exception_ptr e;
      try {
        v.emplace(fn());
      } catch (...) {
        e = std::current_exception();
      }
      task_header* w;
      {
        std::lock_guard lock(st->mutex);
        st->value = std::move(v);
        st->error = std::move(e);
        st->done = true;
        w = std::exchange(st->waker, nullptr);
      }
      // Let go of the state before waking, so that the result and exception are released by
      // the task (libstdc++ counts exception references with atomics ThreadSanitizer does not
      // see; ending their life on one thread keeps its report clean).
      st.reset();
      if (w) wake(w);
    }).detach();
  }
  T await_resume() {
    std::lock_guard lock(st_->mutex);
    if (st_->error) std::rethrow_exception(st_->error);
    return std::move(*st_->value);
  }

 private:
  std::function<T()> fn_;
  std::shared_ptr<state> st_;
};

}  // namespace corio::detail
