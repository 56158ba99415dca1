// epoll backend of the reactor interface, used where io_uring is unavailable (EPERM under a
// seccomp profile, ENOSYS, ENOMEM) or forced with CORIO_BACKEND=epoll.
//
// Operations run as non-blocking system calls on the owner thread. One that would block waits
// for readiness: it is added to its descriptor's reader or writer list in `fds_`, the
// descriptor is registered with epoll for the union of what its lists need (level-triggered),
// and when epoll reports it ready every waiting op in the matching list is retried; the ones
// that would block again stay. Operations epoll cannot wait for (regular files, openat, fsync,
// statx, close) simply run at once. Sockets get MSG_DONTWAIT; plain read/write first check
// readiness with poll(2) so that a blocking descriptor (a terminal on stdin) never blocks the
// worker.
//
// Ops that a readiness event lets finish are completed only after their descriptor's epoll
// registration is updated: a woken task may close the descriptor at once on another worker.
//
// Cancellation (any thread) goes through `inbox_` like the io_uring backend: the owner removes
// the op from its lists and completes it with -ECANCELED.
//
// An attempt that fails with EINTR (a signal) is made again at once (close excepted: the
// descriptor is gone either way; a connect interrupted in progress waits for writability).
//
// Fault injection (fault.hpp): forged results and short transfers at each attempt, and
// epoll_pwait2 failing with EINTR.
//
// Wake-ups go through an eventfd registered for EPOLLIN, with the same parked/notified
// handshake as the io_uring backend (wake_gate.hpp).

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../runtime/detail/fault.hpp"
#include "../../runtime/detail/reactor.hpp"
#include "dir_op.hpp"
#include "op_table.hpp"
#include "wake_gate.hpp"

namespace corio::detail {

namespace {


bool would_block(int r) noexcept { return r == -EAGAIN || r == -EWOULDBLOCK; }
int sys(long r) noexcept { return r < 0 ? -errno : static_cast<int>(r); }

/// POLLIN/POLLOUT an op waits for when it would block.
short readiness_of(const io_request& r) noexcept {
  switch (r.kind) {
    case io_kind::read:
    case io_kind::recv:
    case io_kind::recvmsg:
    case io_kind::accept:
      return POLLIN;
    case io_kind::write:
    case io_kind::send:
    case io_kind::sendmsg:
    case io_kind::connect:
      return POLLOUT;
    case io_kind::poll:
      return static_cast<short>(r.flags);
    default:
      return 0;
  }
}

/// Whether plain read/write on `fd` would block now (poll with no timeout).
bool not_ready(int fd, short events) noexcept {
  pollfd p{fd, events, 0};
  int n = ::poll(&p, 1, 0);
  return n == 0;
}

/// One attempt at the system call. `retry`: the op already waited for readiness once.
int attempt(io_op* op, bool retry) noexcept {
  io_request& r = op->req;
  switch (r.kind) {
    case io_kind::read:
      if (not_ready(r.fd, POLLIN)) return -EAGAIN;
      return sys(r.offset < 0 ? ::read(r.fd, r.buf, r.len) : ::pread(r.fd, r.buf, r.len, r.offset));
    case io_kind::write:
      if (not_ready(r.fd, POLLOUT)) return -EAGAIN;
      return sys(r.offset < 0 ? ::write(r.fd, r.buf, r.len) : ::pwrite(r.fd, r.buf, r.len, r.offset));
    case io_kind::recv:
      return sys(::recv(r.fd, r.buf, r.len, r.flags | MSG_DONTWAIT));
    case io_kind::send:
      return sys(::send(r.fd, r.buf, r.len, r.flags | MSG_DONTWAIT | MSG_NOSIGNAL));
    case io_kind::recvmsg:
      return sys(::recvmsg(r.fd, r.msg, r.flags | MSG_DONTWAIT));
    case io_kind::sendmsg:
      return sys(::sendmsg(r.fd, r.msg, r.flags | MSG_DONTWAIT | MSG_NOSIGNAL));
    case io_kind::accept:
      return sys(::accept4(r.fd, r.addr, r.addrlen_out, r.flags | SOCK_CLOEXEC));
    case io_kind::connect: {
      if (!retry) {
        int rc = sys(::connect(r.fd, r.addr, r.addrlen));
        return rc == -EINPROGRESS || rc == -EINTR ? -EAGAIN : rc;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(r.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
      return -err;
    }
    case io_kind::close:
      return sys(::close(r.fd));
    case io_kind::openat:
      return sys(::openat(r.dirfd, r.path, r.flags | O_CLOEXEC, r.mode));
    case io_kind::fsync:
      return sys(r.flags ? ::fdatasync(r.fd) : ::fsync(r.fd));
    case io_kind::statx:
      return sys(::statx(r.dirfd, r.path, r.flags, r.mask, r.stx));
    case io_kind::poll: {
      pollfd p{r.fd, static_cast<short>(r.flags), 0};
      int n = ::poll(&p, 1, 0);
      if (n < 0) return -errno;
      return n == 0 ? -EAGAIN : p.revents;
    }
    case io_kind::shutdown:
      return sys(::shutdown(r.fd, r.flags));
    case io_kind::mkdirat:
    case io_kind::unlinkat:
    case io_kind::renameat:
      return run_dir_op(r);
  }
  return -EINVAL;
}

/// `attempt`, with injected faults, repeated while a signal interrupts it.
int attempt_retrying(io_op* op, bool retry) noexcept {
  for (;;) {
    int r = 0;
    if (!fault::forge_result(op->req.kind, &r)) r = attempt(op, retry);
    if (r != -EINTR || op->req.kind == io_kind::close) return r;
  }
}

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
    ev.data.fd = event_fd_;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) < 0) {
      int e = errno;
      ::close(event_fd_);
      ::close(epoll_fd_);
      throw std::system_error(e, std::generic_category(), "epoll_ctl(eventfd)");
    }
  }

  ~epoll_reactor() override {
    shutdown();
    ::close(event_fd_);
    ::close(epoll_fd_);
  }

  std::size_t park(std::optional<std::chrono::nanoseconds> timeout) override {
    std::size_t n = drain_inbox();
    if (timeout && timeout->count() == 0) return n + wait(timeout);
    if (!gate_.enter()) {
      return n + wait(std::chrono::nanoseconds::zero());
    }
    n += wait(timeout);
    gate_.leave();
    return n;
  }

  void unpark() noexcept override { gate_.unpark(event_fd_); }

  bool start(io_op* op, int* res) override {
    op->owner = this;
    op->waiting = 0;
    op->req.len = fault::cap_length(op->req.kind, op->req.len);
    count_submitted();
    int r = attempt_retrying(op, false);
    short need = readiness_of(op->req);
    if (!would_block(r) || need == 0) {
      *res = r;
      count_completed();
      return true;
    }
    // Room in the lists first: if that throws (std::bad_alloc) the op is in no table, and the
    // caller's exception leaves nothing that points into its frame.
    fd_entry& e = fds_[op->req.fd];
    std::vector<io_op*>& list = need & POLLOUT ? e.writers : e.readers;
    list.reserve(list.size() + 1);
    done_.reserve(ops_.live() + 1);
    op->token = ops_.add(op);
    list.push_back(op);
    update(op->req.fd, e);
    return false;
  }

  void cancel(std::uint64_t token) noexcept override {
    inbox_.post(token);
    unpark();
  }

  void shutdown() noexcept override {
    drain_inbox();
    std::vector<io_op*> left;
    ops_.for_each([&](io_op* op) { left.push_back(op); });
    for (io_op* op : left) finish(op, -ECANCELED);
    fds_.clear();
  }

  backend_kind kind() const noexcept override { return backend_kind::epoll; }
  bool no_io_in_flight() const noexcept override { return ops_.live() == 0; }

 private:
  struct fd_entry {
    std::vector<io_op*> readers, writers;
    std::uint32_t registered = 0;  // epoll events currently asked for (0: not registered)
  };

  /// Re-registers `fd` for what its waiters need (or removes it).
  void update(int fd, fd_entry& e) noexcept {
    std::uint32_t want = 0;
    for (io_op* op : e.readers) want |= static_cast<std::uint32_t>(readiness_of(op->req));
    for (io_op* op : e.writers) want |= static_cast<std::uint32_t>(readiness_of(op->req));
    if (want == e.registered) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = fd;
    if (want == 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev);
    } else if (e.registered == 0) {
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST) ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    } else if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);  // the descriptor was closed and reused
    }
    e.registered = want;
  }

  void finish(io_op* op, int res) noexcept {
    ops_.remove(op->token);
    count_completed();
    op->complete(op, res, 0);
  }

  /// Retries the ops of one list after readiness; keeps those that would block again.
  std::size_t retry(std::vector<io_op*>& list) noexcept {
    // Those that stay are compacted in place: no allocation on this noexcept path.
    std::vector<io_op*> ready;
    ready.swap(list);
    std::size_t done = 0, kept = 0;
    for (io_op* op : ready) {
      int r = attempt_retrying(op, true);
      if (would_block(r)) {
        ready[kept++] = op;
      } else {
        done_.emplace_back(op, r);  // finished by wait() once the descriptor is re-registered
        ++done;
      }
    }
    ready.resize(kept);
    if (list.empty()) list.swap(ready);
    else list.insert(list.begin(), ready.begin(), ready.end());  // (nothing is added meanwhile)
    return done;
  }

  std::size_t wait(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    epoll_event events[64];
    timespec ts{};
    if (timeout) {
      ts.tv_sec = timeout->count() / 1'000'000'000;
      ts.tv_nsec = timeout->count() % 1'000'000'000;
    }
    int n = fault::enter_result() != 0 ? -1 : ::epoll_pwait2(epoll_fd_, events, 64, timeout ? &ts : nullptr, nullptr);
    if (n < 0) return 0;  // EINTR: just a wake-up
    std::size_t dispatched = 0;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == event_fd_) {
        std::uint64_t v;
        while (::read(event_fd_, &v, sizeof v) < 0 && errno == EINTR) {
        }
        continue;
      }
      auto it = fds_.find(fd);
      if (it == fds_.end()) continue;
      std::uint32_t ev = events[i].events;
      bool err = ev & (EPOLLERR | EPOLLHUP);
      if (ev & EPOLLIN || err) dispatched += retry(it->second.readers);
      if (ev & EPOLLOUT || err) dispatched += retry(it->second.writers);
      update(fd, it->second);
      if (it->second.registered == 0) fds_.erase(it);
      // Only now wake the tasks: one may close the descriptor at once on another thread,
      // which must not race with the epoll_ctl above.
      for (std::size_t k = 0; k < done_.size(); ++k) finish(done_[k].first, done_[k].second);
      done_.clear();
    }
    return dispatched;
  }

  std::size_t drain_inbox() noexcept {
    std::vector<std::uint64_t> tokens = inbox_.take();
    std::size_t n = 0;
    for (std::uint64_t token : tokens) {
      io_op* op = ops_.find(token);
      if (!op) continue;  // finished first
      auto it = fds_.find(op->req.fd);
      if (it != fds_.end()) {
        auto drop = [op](std::vector<io_op*>& l) { l.erase(std::remove(l.begin(), l.end(), op), l.end()); };
        drop(it->second.readers);
        drop(it->second.writers);
        update(op->req.fd, it->second);
        if (it->second.registered == 0) fds_.erase(it);
      }
      finish(op, -ECANCELED);
      ++n;
    }
    return n;
  }

  int epoll_fd_ = -1;
  int event_fd_ = -1;
  wake_gate gate_;
  op_table ops_;
  std::unordered_map<int, fd_entry> fds_;
  std::vector<std::pair<io_op*, int>> done_;  // retried ops and results, to finish; capacity >= ops in flight
  cancel_inbox inbox_;
};

}  // namespace

std::unique_ptr<reactor> make_epoll_reactor() { return std::make_unique<epoll_reactor>(); }

}  // namespace corio::detail
