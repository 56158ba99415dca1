// accept_queue (accept_queue.hpp): a listener's multishot accept and its queue of descriptors.
//
// State, all under `mutex_`:
//   armed_     a multishot accept is in the kernel, on ring req_.owner under req_.token;
//              keep_alive_ holds the queue for it. Set by arm_locked (on the arming worker),
//              cleared by the request's last completion (on the same worker).
//   stopping_  we asked that ring to cancel the request (queue full, or close()); the
//              -ECANCELED that ends it is then ours and no error for anyone.
//   closed_    the listener is closing: nothing is queued or armed any more; descriptors that
//              still arrive are closed.
//   ready_     descriptors accepted and not yet taken, oldest first.
//   waiters_   waiting accepts, oldest first: a wait queue (runtime/detail/wait_queue.hpp). A
//              waiter is either queued, or has been released with its result (a descriptor:
//              `handed`, which withdraw puts back; -errno: `woken`) by whoever unlinked it.
//
// Each completion of the request:
//   descriptor  to the oldest waiter, else into ready_ (closed if closed_). At `capacity`
//               queued, the request is cancelled: the kernel's backlog holds the rest. A
//               descriptor at or above the current RLIMIT_NOFILE counts as EMFILE instead
//               (the kernel checks the limit of when it was armed; see completed()).
//   last (no completion_more)  armed_ = false. An error (other than our own cancellation)
//               fails every waiter with it. Waiters still left (our cancellation raced with
//               accepts draining the queue, or a last completion that carried a descriptor)
//               get the request re-armed on this ring, unless the runtime is shutting down
//               (its reactor must drain, not restart): then they fail with ECANCELED.
// Wakes happen after the mutex is released; a waiter is not touched after it is handed over,
// so its frame may be destroyed as soon as its task is aborted. Failing every waiter moves them
// onto a detached wait queue (their results set) that is released once the rest is done, in
// the wait queue's batches: nothing is allocated.
//
// Who arms: accept() with the queue empty always (it is about to wait); with descriptors
// queued, only below capacity / 2 (hysteresis, so a full queue does not cancel and re-arm at
// every accept).

#include "accept_queue.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "../../runtime/detail/scheduler.hpp"
#include "multishot_accept.hpp"

namespace corio::detail {

namespace {

bool above_nofile_limit(int fd) noexcept {
  rlimit rl{};
  return ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && static_cast<rlim_t>(fd) >= rl.rlim_cur;
}

}  // namespace

/// What to do once the state is settled: waiters released one at a time (at most a few per
/// lock hold), waiters failed all at once (a detached queue, their results set), a descriptor
/// to close.
struct accept_queue::wakes {
  waker_batch one;
  wait_queue<waiter> failed;
  int to_close = -1;

  /// Called with `lock` held; returns with it released and every waiter woken.
  void run(std::unique_lock<std::mutex>& lock) noexcept {
    failed.release_while(lock, [](waiter&) { return wait_state::woken; });
    if (to_close >= 0) ::close(to_close);
    one.wake_all();
  }
};

accept_queue::accept_queue(int listen_fd) noexcept : listen_fd_(listen_fd) {
  req_.queue = this;
  req_.complete = &on_complete;
}

accept_queue::~accept_queue() {
  for (int f : ready_) ::close(f);
}

bool accept_queue::usable_here() noexcept {
  thread_context& c = this_thread();
  if (!c.io) return false;
  return c.io->kind() == backend_kind::uring && multishot_accept_supported();
}

std::size_t accept_queue::queued() const {
  std::lock_guard lock(mutex_);
  return ready_.size();
}

bool accept_queue::take_or_wait(waiter& w, std::coroutine_handle<> h, cancel_hook* hook) {
  thread_context& c = this_thread();
  if (!c.io || !c.task) throw usage_error("accept: must be awaited inside a task running on a corio runtime");
  std::lock_guard lock(mutex_);
  if (closed_) {
    w.result = -EBADF;
    return true;
  }
  if (ready_.empty() && !armed_) {
    int err = arm_locked(*c.io);  // may throw (no memory for the slot)
    if (err < 0 && ready_.empty()) {
      w.result = err;
      return true;
    }
  }
  if (!ready_.empty()) {
    w.result = ready_.front();
    ready_.pop_front();
    if (!armed_ && ready_.size() < capacity / 2) {
      try {
        (void)arm_locked(*c.io);
      } catch (...) {  // no memory for the slot: the next accept tries again
      }
    }
    return true;
  }
  task_header* t = make_waker(h, "accept");
  t->hook = hook;
  waiters_.enqueue(w, waker(t));
  return false;
}

void accept_queue::withdraw(waiter& w) noexcept {
  int to_close = -1;
  {
    std::lock_guard lock(mutex_);
    // Still queued: leaves (its wake will never come). Handed a descriptor (or holding one
    // taken at once): it goes back. A second call finds the node consumed and the result gone.
    if (waiters_.abandon(w) != wait_state::waiting && w.result >= 0) {
      if (closed_) {
        to_close = w.result;
      } else {
        try {
          ready_.push_front(w.result);
        } catch (...) {
          to_close = w.result;  // no memory: the connection is dropped rather than leaked
        }
      }
    }
    w.result = -ECANCELED;
  }
  if (to_close >= 0) ::close(to_close);
}

bool accept_queue::close() noexcept {
  std::deque<int> fds;
  wakes out;
  std::unique_lock lock(mutex_);
  closed_ = true;
  fds.swap(ready_);
  fail_waiters_locked(EBADF, out);
  bool was_armed = armed_;
  if (armed_) stop_locked();
  out.run(lock);
  for (int f : fds) ::close(f);
  return was_armed;
}

void accept_queue::on_complete(io_completion* self, int res, unsigned flags) noexcept {
  static_cast<request*>(static_cast<io_op*>(self))->queue->completed(res, flags);
}

void accept_queue::completed(int res, unsigned flags) noexcept {
  std::shared_ptr<accept_queue> keep;  // released last: it may be the last reference
  wakes out;
  {
    std::unique_lock lock(mutex_);
    bool more = flags & completion_more;
    // The kernel took RLIMIT_NOFILE when the request was armed: if the process has lowered
    // it since, the request would go on accepting past it and never report EMFILE. A
    // descriptor at or above the current limit is treated as the EMFILE a one-shot accept
    // would have met: closed (that connection is reset), EMFILE to the waiters, and the
    // request ends, so the next accept re-arms under the new limit.
    if (res >= 0 && above_nofile_limit(res)) {
      out.to_close = res;
      res = -EMFILE;
      fail_waiters_locked(EMFILE, out);
      if (more) stop_locked();
    }
    if (res >= 0) {
      if (closed_) {
        out.to_close = res;
      } else if (!waiters_.empty()) {
        hand_locked(res, out);
      } else {
        push_locked(res);
        if (more && ready_.size() >= capacity) stop_locked();
      }
    }
    if (!more) {
      armed_ = false;
      bool ours = std::exchange(stopping_, false);
      if (res < 0 && !closed_ && !(ours && res == -ECANCELED)) fail_waiters_locked(-res, out);
      if (!waiters_.empty() && !closed_) {
        // Re-arm only on this ring's own worker, and not while the runtime shuts down (its
        // reactor is draining every operation and would wait for this one forever).
        thread_context& c = this_thread();
        bool can_rearm = c.io == req_.owner && c.sched && !c.sched->is_shutdown();
        int err = -ECANCELED;
        if (can_rearm) {
          try {
            err = arm_locked(*req_.owner);
          } catch (...) {
            err = -ENOMEM;
          }
        }
        while (!waiters_.empty() && !ready_.empty()) {  // (only if the backend answered at once)
          hand_locked(ready_.front(), out);
          ready_.pop_front();
        }
        if (!armed_) fail_waiters_locked(err < 0 ? -err : ECANCELED, out);
      }
      if (!armed_) keep = std::move(keep_alive_);
    }
    out.run(lock);
  }
}

int accept_queue::arm_locked(reactor& r) {
  req_.req = io_request{};
  req_.req.kind = io_kind::accept;
  req_.req.fd = listen_fd_;
  req_.req.flags = SOCK_NONBLOCK | accept_multishot;
  int res = 0;
  if (r.start(&req_, &res)) {  // answered at once (not io_uring's way for accept, but allowed)
    if (res < 0) return res;
    push_locked(res);
    return 0;
  }
  armed_ = true;
  stopping_ = false;
  if (!keep_alive_) keep_alive_ = shared_from_this();  // (cannot throw: we are owned by a shared_ptr)
  return 0;
}

void accept_queue::stop_locked() noexcept {
  if (stopping_) return;
  stopping_ = true;
  req_.owner->cancel(req_.token);
}

void accept_queue::push_locked(int fd) noexcept {
  try {
    ready_.push_back(fd);
  } catch (...) {
    ::close(fd);  // no memory: the connection is dropped rather than leaked
  }
}

void accept_queue::hand_locked(int result, wakes& out) noexcept {
  waiter& w = *waiters_.front();
  w.result = result;
  out.one.push(waiters_.release(w, result >= 0 ? wait_state::handed : wait_state::woken));
}

void accept_queue::fail_waiters_locked(int err, wakes& out) noexcept {
  for (waiter* w = waiters_.front(); w; w = waiters_.next(*w)) w->result = -err;
  waiters_.detach_into(out.failed);
}

}  // namespace corio::detail
