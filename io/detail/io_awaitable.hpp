#pragma once
// The awaitable behind every I/O call: one kernel operation (an io_uring SQE, or a
// non-blocking system call with readiness waits under epoll) started on the reactor of the
// worker that polls the task. `co_await` yields the kernel's result: a count or descriptor, or
// -errno (callers turn that into std::system_error).
//
// Cancellation: while the operation is in flight the awaitable is its task's cancel hook. An
// aborted task asks the owning reactor to cancel the operation and keeps its frame (which owns
// the buffers the kernel writes into) until the operation's completion has arrived; a
// descriptor produced by an accept or openat that completes anyway is closed. An accept or
// openat that completed at once (epoll) but yields because the task's budget is spent holds its
// descriptor in the run queue: it is the task's cancel hook there too, already done, so an
// abort or the runtime's shutdown closes the descriptor. A stream read given a read_stash
// (keep_unclaimed_in) is handled the same way, except that what it read is kept in the stash
// for the stream's next read instead of being dropped.
//
// Completion runs on the owning worker's thread and wakes the task (which may then run on any
// worker). ThreadSanitizer cannot see the hand-off through the kernel, so it is annotated.

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <coroutine>
#include <string>
#include <utility>

#include "../../runtime/detail/context.hpp"
#include "../../runtime/detail/reactor.hpp"
#include "../../runtime/detail/sanitizers.hpp"
#include "../../runtime/error.hpp"
#include "read_stash.hpp"

namespace corio::detail {

class [[nodiscard]] io_awaitable : io_op, cancel_hook {
 public:
  io_awaitable(const io_request& r, const char* what) noexcept : what_(what) {
    req = r;
    complete = &on_complete;
  }
  io_awaitable(io_awaitable&& o) noexcept : io_op(), what_(o.what_), stash_(o.stash_) {
    req = o.req;
    complete = &on_complete;
  }
  io_awaitable& operator=(io_awaitable&&) = delete;

  /// The request, adjustable until the awaitable is awaited.
  io_request& request() noexcept { return req; }

  /// A read on a stream: if it is dropped after the kernel completed it, its outcome goes to
  /// `s` instead of being lost (read_stash.hpp). Before the await.
  void keep_unclaimed_in(read_stash* s) noexcept { stash_ = s; }

  bool await_ready() const noexcept { return false; }

  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    thread_context& c = this_thread();
    if (!c.io || !c.task)
      throw usage_error(std::string(what_) + ": must be awaited inside a task running on a corio runtime");
    reactor& r = *c.io;
    tsan_release(static_cast<io_op*>(this));
    int res = 0;
    if (r.start(this, &res)) {  // done at once (epoll): resume now, unless out of budget
      result_ = res;
      if (coop_consume()) return h;
      std::coroutine_handle<> next = yield_to_scheduler(h, what_);
      if ((makes_fd() && res >= 0) || stash_) {  // a descriptor or bytes: not lost if the task goes meanwhile
        done_.store(true, std::memory_order_relaxed);  // no hand-off: this thread completed it
        c.task->hook = this;
        holding_ = true;
      }
      return next;
    }
    waker_ = make_waker(h, what_);
    waker_->hook = this;
    in_flight_ = true;
    return std::noop_coroutine();
  }

  int await_resume() noexcept {
    if (holding_) {
      holding_ = false;
      this_thread().task->hook = nullptr;
    }
    if (in_flight_) {
      in_flight_ = false;
      tsan_acquire(static_cast<io_op*>(this));
      this_thread().task->hook = nullptr;
    }
    return result_;
  }

 private:
  static void on_complete(io_completion* self, int res, unsigned) noexcept {
    auto* a = static_cast<io_awaitable*>(static_cast<io_op*>(self));
    a->result_ = res;
    task_header* t = std::exchange(a->waker_, nullptr);
    tsan_release(static_cast<io_op*>(a));
    a->done_.store(true, std::memory_order_release);  // after this the reactor never touches *a
    wake(t);
  }

  // cancel_hook: the task was aborted while the operation is in flight.
  bool cancel(task_header*) noexcept override {
    if (done_.load(std::memory_order_acquire)) {
      abandon();
      return true;
    }
    if (!cancel_sent_) {
      cancel_sent_ = true;
      owner->cancel(token);  // the completion (-ECANCELED or real) will wake us again
    }
    return false;
  }

  bool makes_fd() const noexcept { return req.kind == io_kind::accept || req.kind == io_kind::openat; }

  // cancel_hook: the frame is going away with the completed operation unclaimed.
  void abandon() noexcept override {
    tsan_acquire(static_cast<io_op*>(this));
    if (!done_.load(std::memory_order_acquire)) return;
    if (makes_fd() && result_ >= 0) {
      ::close(result_);  // nobody will own it
      result_ = -ECANCELED;
    } else if (stash_) {
      stash_->keep(result_, req.buf);  // the stream's next read returns it
      result_ = -ECANCELED;
    }
  }

  const char* what_;
  read_stash* stash_ = nullptr;  ///< where an unclaimed read's outcome goes (or null)
  task_header* waker_ = nullptr;
  int result_ = 0;
  bool in_flight_ = false;
  bool holding_ = false;  ///< yielded with a descriptor made at once, as the task's cancel hook
  bool cancel_sent_ = false;
  std::atomic<bool> done_{false};
};

}  // namespace corio::detail
