// io_uring backend of the reactor interface (runtime/detail/reactor.hpp). The only file that
// includes <liburing.h>.
//
// Wake-ups: the ring always has a read of an eventfd in flight (user_data `wake_tag`); unpark
// writes the eventfd, so a worker blocked in io_uring_submit_and_wait_timeout returns. To keep
// wake-ups cheap, `park_state_` tells unpark whether the worker is (about to be) blocked:
//   idle -> parked      the worker, just before it blocks
//   any  -> notified    unpark; writes the eventfd only if it replaced `parked`
//   any  -> idle        the worker, after it wakes (a `notified` seen at park time returns at once)

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "../../runtime/detail/reactor.hpp"

namespace corio::detail {

namespace {

constexpr std::uint64_t wake_tag = 1;
enum : int { state_idle = 0, state_parked = 1, state_notified = 2 };

class uring_reactor final : public reactor {
 public:
  uring_reactor() {
    io_uring_params p{};
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
    int rc = io_uring_queue_init_params(256, &ring_, &p);
    if (rc == -EINVAL) {  // older kernel: no optional flags
      p = {};
      rc = io_uring_queue_init_params(256, &ring_, &p);
    }
    if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
    event_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (event_fd_ < 0) {
      int e = errno;
      io_uring_queue_exit(&ring_);
      throw std::system_error(e, std::generic_category(), "eventfd");
    }
  }

  ~uring_reactor() override {
    shutdown();
    io_uring_queue_exit(&ring_);
    ::close(event_fd_);
  }

  std::size_t park(std::optional<std::chrono::nanoseconds> timeout) override {
    if (timeout && timeout->count() == 0) {
      if (io_uring_sq_ready(&ring_)) submit();
      return reap();
    }
    arm_wake_read();
    if (park_state_.exchange(state_parked, std::memory_order_seq_cst) == state_notified) {
      park_state_.store(state_idle, std::memory_order_relaxed);
      submit();
      return reap();
    }
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{};
    if (timeout) {
      ts.tv_sec = timeout->count() / 1'000'000'000;
      ts.tv_nsec = timeout->count() % 1'000'000'000;
    }
    // -ETIME (timeout) and -EINTR (a signal) both just end the wait.
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout ? &ts : nullptr, nullptr);
    park_state_.store(state_idle, std::memory_order_seq_cst);
    return reap();
  }

  void unpark() noexcept override {
    if (park_state_.exchange(state_notified, std::memory_order_seq_cst) == state_parked) {
      std::uint64_t one = 1;
      while (::write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
      }
    }
  }

  void shutdown() noexcept override {
    if (!read_armed_) return;
    if (io_uring_sqe* sqe = get_sqe()) {
      io_uring_prep_cancel64(sqe, wake_tag, 0);
      io_uring_sqe_set_data64(sqe, 0);
    }
    while (read_armed_) {
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_submit_and_wait(&ring_, 1);
      if (rc < 0 && rc != -EINTR && rc != -EBUSY) break;
      (void)cqe;
      reap();
    }
  }

  backend_kind kind() const noexcept override { return backend_kind::uring; }

 private:
  io_uring_sqe* get_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (!sqe) {  // submission queue full: hand it to the kernel and retry
      if (submit() < 0) reap();
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  int submit() noexcept {
    for (;;) {
      int rc = io_uring_submit(&ring_);
      if (rc == -EINTR) continue;
      if (rc == -EBUSY) {  // completion queue full (IORING_FEAT_NODROP): reap, then retry
        reap();
        continue;
      }
      return rc;
    }
  }

  void arm_wake_read() noexcept {
    if (read_armed_) return;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, event_fd_, &event_buf_, sizeof event_buf_, 0);
    io_uring_sqe_set_data64(sqe, wake_tag);
    read_armed_ = true;
  }

  std::size_t reap() noexcept {
    std::size_t dispatched = 0;
    io_uring_cqe* cqe;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      std::uint64_t ud = io_uring_cqe_get_data64(cqe);
      if (ud == wake_tag) {
        read_armed_ = false;
      } else if (ud != 0) {
        auto* c = reinterpret_cast<io_completion*>(static_cast<std::uintptr_t>(ud));
        c->complete(c, cqe->res, cqe->flags);
        ++dispatched;
      }
    }
    io_uring_cq_advance(&ring_, seen);
    return dispatched;
  }

  io_uring ring_{};
  int event_fd_ = -1;
  std::uint64_t event_buf_ = 0;
  bool read_armed_ = false;
  std::atomic<int> park_state_{state_idle};
};

}  // namespace

std::unique_ptr<reactor> make_uring_reactor() { return std::make_unique<uring_reactor>(); }

bool uring_available() noexcept {
  io_uring ring;
  int rc = io_uring_queue_init(2, &ring, 0);
  if (rc < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

}  // namespace corio::detail
