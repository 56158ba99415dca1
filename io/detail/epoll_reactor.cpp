// epoll backend of the reactor interface, used where io_uring is unavailable (EPERM under a
// seccomp profile, ENOSYS, ENOMEM) or forced with CORIO_BACKEND=epoll. Wake-ups go through an
// eventfd registered for EPOLLIN, with the same parked/notified handshake as the io_uring
// backend so that unpark writes the eventfd only when the worker is blocked.

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "../../runtime/detail/reactor.hpp"

namespace corio::detail {

namespace {

enum : int { state_idle = 0, state_parked = 1, state_notified = 2 };

class epoll_reactor final : public reactor {
 public:
  epoll_reactor() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) {
      int e = errno;
      ::close(epoll_fd_);
      throw std::system_error(e, std::generic_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // null marks the wake-up eventfd
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) < 0) {
      int e = errno;
      ::close(event_fd_);
      ::close(epoll_fd_);
      throw std::system_error(e, std::generic_category(), "epoll_ctl(eventfd)");
    }
  }

  ~epoll_reactor() override {
    ::close(event_fd_);
    ::close(epoll_fd_);
  }

  std::size_t park(std::optional<std::chrono::nanoseconds> timeout) override {
    if (timeout && timeout->count() == 0) return wait(timeout);
    if (park_state_.exchange(state_parked, std::memory_order_seq_cst) == state_notified) {
      park_state_.store(state_idle, std::memory_order_relaxed);
      return wait(std::chrono::nanoseconds::zero());
    }
    std::size_t n = wait(timeout);
    park_state_.store(state_idle, std::memory_order_seq_cst);
    return n;
  }

  void unpark() noexcept override {
    if (park_state_.exchange(state_notified, std::memory_order_seq_cst) == state_parked) {
      std::uint64_t one = 1;
      while (::write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
      }
    }
  }

  void shutdown() noexcept override {}

  backend_kind kind() const noexcept override { return backend_kind::epoll; }

 private:
  std::size_t wait(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    epoll_event events[64];
    timespec ts{};
    if (timeout) {
      ts.tv_sec = timeout->count() / 1'000'000'000;
      ts.tv_nsec = timeout->count() % 1'000'000'000;
    }
    int n = ::epoll_pwait2(epoll_fd_, events, 64, timeout ? &ts : nullptr, nullptr);
    if (n < 0) return 0;  // EINTR: just a wake-up
    std::size_t dispatched = 0;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        std::uint64_t v;
        while (::read(event_fd_, &v, sizeof v) < 0 && errno == EINTR) {
        }
        continue;
      }
      auto* c = static_cast<io_completion*>(events[i].data.ptr);
      c->complete(c, static_cast<int>(events[i].events), 0);
      ++dispatched;
    }
    return dispatched;
  }

  int epoll_fd_ = -1;
  int event_fd_ = -1;
  std::atomic<int> park_state_{state_idle};
};

}  // namespace

std::unique_ptr<reactor> make_epoll_reactor() { return std::make_unique<epoll_reactor>(); }

}  // namespace corio::detail
