#pragma once
// accept_queue: what a tcp_listener keeps between accepts on the io_uring backend — one
// multishot accept armed in the kernel and a small queue of the connections it has produced
// that no accept() has taken yet. accept_operation: the awaitable behind tcp_listener::accept.
//
// With multishot, the kernel accepts each connection as it arrives and posts its descriptor;
// an accept() that finds one queued returns it without a system call or a suspension. Without
// it (the epoll backend, a kernel older than 5.19, CORIO_ACCEPT_MULTISHOT=0) accept() is the
// one-shot accept_awaitable of socket_base.hpp, unchanged.
//
// The rules (protocol notes in accept_queue.cpp):
// - Where it pays: a listener's first `warm_up` accepts are one-shot; from then on it uses the
//   queue.
// - The request is armed by the first accept() that finds the queue empty, on the ring of the
//   worker that task runs on, and stays tied to that ring: its completions run on that worker,
//   which hands each descriptor to the oldest waiting accept() (on any worker, woken through its
//   waker like any I/O completion) or queues it.
// - Back-pressure: once `capacity` descriptors are queued, the request is cancelled; further
//   connections wait in the kernel's backlog until an accept() re-arms it (when fewer than
//   `capacity / 2` are queued).
// - An error ending the request (EMFILE, ENFILE, ENOMEM, ...) goes to every accept() waiting
//   then, as a one-shot accept would have; with nobody waiting it is dropped, and the next
//   accept() re-arms and meets it again if it persists.
// - An aborted accept() loses nothing: it leaves the wait list, and a descriptor that was
//   handed to it as it was aborted goes back to the front of the queue.
// - close() (the listener closing) cancels the request, closes every queued descriptor and
//   fails the waiting accepts with EBADF; descriptors still arriving from the kernel are closed
//   when their completion is reaped. The queue lives (shared_ptr) until the request's last
//   completion, so the kernel never completes into freed memory.
//
// Thread safety: everything behind one mutex; completions arrive on the arming worker, accepts
// and close() come from any thread.

#include <atomic>
#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "../../runtime/detail/context.hpp"
#include "../../runtime/detail/export.hpp"
#include "../../runtime/detail/reactor.hpp"
#include "../../runtime/detail/task_header.hpp"
#include "../../runtime/detail/wait_queue.hpp"
#include "io_awaitable.hpp"
#include "socket_base.hpp"

namespace corio::detail {

class accept_queue : public std::enable_shared_from_this<accept_queue> {
 public:
  /// Descriptors queued before the request is cancelled (back-pressure).
  static constexpr std::size_t capacity = 128;
  /// One-shot accepts a listener completes before it arms the multishot request: a listener
  /// that takes a handful of connections gains nothing from it, and keeps the kernel's
  /// backlog as its only queue (so its accepts meet EMFILE exactly as before).
  static constexpr unsigned warm_up = 32;

  /// One accept() waiting on the queue (lives in its awaitable): a wait queue node
  /// (runtime/detail/wait_queue.hpp), released `handed` a descriptor or `woken` with -errno.
  struct waiter : wait_node {
    int result = -ECANCELED;  ///< a descriptor or -errno, once handed over
  };

  explicit accept_queue(int listen_fd) noexcept;
  ~accept_queue();
  accept_queue(const accept_queue&) = delete;
  accept_queue& operator=(const accept_queue&) = delete;

  /// Whether accepts on this thread go through a queue: a worker on the io_uring backend, on a
  /// kernel with multishot accept.
  CORIO_API static bool usable_here() noexcept;

  /// On a worker thread (usable_here). True: `w.result` holds a queued descriptor (or -EBADF
  /// after close) at once. False: `w` waits, registered with a waker for `h` whose cancel hook
  /// is `hook`, and the request is armed. Throws what arming throws (std::bad_alloc).
  CORIO_API bool take_or_wait(waiter& w, std::coroutine_handle<> h, cancel_hook* hook);

  /// The waiter's task is aborted, or its frame goes away: leaves the wait list, or hands a
  /// descriptor it got back to the queue (closed if the listener is). Idempotent.
  CORIO_API void withdraw(waiter& w) noexcept;

  /// The listener closes (any thread): queued descriptors are closed, waiters fail with EBADF,
  /// an armed request is cancelled. Returns true if one was armed (its cancellation is on the
  /// way: until it lands, the kernel keeps the socket listening, and what it accepts then is
  /// closed on arrival).
  bool close() noexcept;

  int listen_fd() const noexcept { return listen_fd_; }

  /// Descriptors queued now (tests).
  std::size_t queued() const;

  /// Whether accepts go through the queue yet (after `warm_up` one-shot accepts; any thread).
  bool warmed_up() const noexcept { return oneshots_.load(std::memory_order_relaxed) >= warm_up; }
  /// A one-shot accept completed with a connection.
  void count_oneshot() noexcept {
    if (oneshots_.load(std::memory_order_relaxed) < warm_up) oneshots_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  struct request : io_op {
    accept_queue* queue = nullptr;
  };
  struct wakes;

  static void on_complete(io_completion* self, int res, unsigned flags) noexcept;
  void completed(int res, unsigned flags) noexcept;
  /// Arms the request on `r` (this thread's). 0, or the -errno the backend answered at once.
  int arm_locked(reactor& r);
  void stop_locked() noexcept;
  void push_locked(int fd) noexcept;
  /// Hands `fd` (or -errno) to the oldest waiter.
  void hand_locked(int result, wakes& out) noexcept;
  void fail_waiters_locked(int err, wakes& out) noexcept;

  mutable std::mutex mutex_;
  const int listen_fd_;
  std::deque<int> ready_;  // accepted, not yet taken; oldest first
  wait_queue<waiter> waiters_;
  request req_;
  std::shared_ptr<accept_queue> keep_alive_;  // the armed request's reference
  bool armed_ = false;
  bool stopping_ = false;  // we asked the kernel to cancel the armed request
  bool closed_ = false;
  std::atomic<unsigned> oneshots_{0};
};

/// tcp_listener::accept(): a queued connection at once, the next one the multishot request
/// delivers, or (without a queue) a one-shot accept. The task resumes on a worker of its
/// runtime; aborting it loses no connection.
template <class Stream>
class [[nodiscard]] accept_operation final : cancel_hook {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  accept_operation(int lfd, std::shared_ptr<accept_queue> q) noexcept
      : oneshot_(accept_request(lfd), "accept"), queue_(std::move(q)), lfd_(lfd) {}
  accept_operation(accept_operation&& o) noexcept
      : oneshot_(std::move(o.oneshot_)), queue_(std::move(o.queue_)), lfd_(o.lfd_) {}
  accept_operation& operator=(accept_operation&&) = delete;
  ~accept_operation() {
    if (state_ != state::idle) queue_->withdraw(waiter_);  // destroyed before resuming
  }

  bool await_ready() const noexcept { return false; }

  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    if (!queue_ || !queue_->warmed_up() || !accept_queue::usable_here()) {
      oneshot_mode_ = true;
      return oneshot_.await_suspend(h);
    }
    if (queue_->take_or_wait(waiter_, h, this)) {
      state_ = state::holding;
      return transfer_or_yield(h, "accept");
    }
    state_ = state::waiting;
    return std::noop_coroutine();
  }

  Stream await_resume() {
    int r;
    if (oneshot_mode_) {
      r = oneshot_.await_resume();
      if (r >= 0 && queue_) queue_->count_oneshot();
    } else {
      if (state_ == state::waiting) this_thread().task->hook = nullptr;
      state_ = state::idle;
      waiter_.consume();
      r = std::exchange(waiter_.result, -ECANCELED);
    }
    if (r < 0) throw_io_error(-r, "accept", lfd_);
    return Stream(fd(r));
  }

 private:
  enum class state : unsigned char { idle, waiting, holding };

  // cancel_hook: the task was aborted while waiting. Nothing to wait for: the queue takes back
  // whatever was handed over.
  bool cancel(task_header*) noexcept override {
    queue_->withdraw(waiter_);
    state_ = state::idle;
    return true;
  }
  void abandon() noexcept override {
    queue_->withdraw(waiter_);
    state_ = state::idle;
  }

  io_awaitable oneshot_;  // without a queue: one accept4 (the peer's address is not asked for)
  std::shared_ptr<accept_queue> queue_;
  int lfd_;
  accept_queue::waiter waiter_;
  state state_ = state::idle;
  bool oneshot_mode_ = false;
};

}  // namespace corio::detail
