// io_uring backend of the reactor interface (runtime/detail/reactor.hpp). The only file that
// includes <liburing.h>.
//
// Operations: `start` takes an SQE (flushing the queue to the kernel first if it is full),
// records the op in a slot table and tags the SQE with token = (generation << 32) | slot. The
// SQEs are handed to the kernel by the next park or poll, so a worker makes one
// io_uring_enter per round of work, not one per operation. A CQE finds its op through the
// slot, after checking the generation; multishot CQEs (IORING_CQE_F_MORE) keep the slot.
//
// Cancellation may be requested from any thread: the token goes into `inbox_` (under a mutex)
// and the owner turns it into an IORING_OP_ASYNC_CANCEL at its next park or poll. A token whose
// slot has been freed (the op finished first) or reused (a newer generation) matches nothing:
// late cancels are harmless.
//
// Wake-ups: the ring always has a read of an eventfd in flight (user_data `wake_tag`); unpark
// writes the eventfd (only when the worker is blocked: wake_gate.hpp), so a worker blocked in
// io_uring_submit_and_wait_timeout returns.
//
// Back-pressure: a full submission queue is flushed and retried; -EBUSY from io_uring_enter
// (completion queue full, IORING_FEAT_NODROP) reaps completions and retries; -EINTR retries.
// An operation that completes with -EINTR (a signal interrupted it) is submitted again under
// the same token, except close (the descriptor is gone either way).
//
// Fault injection (fault.hpp) hooks in at `start` (forged results, which travel through the
// ring as a NOP and are swapped in when its CQE is reaped; short transfers), at every
// io_uring_enter, at get_sqe and at ring creation.
//
// Multishot accept (io_kind::accept with accept_multishot, used by accept_queue.hpp): one SQE,
// one slot, one CQE per connection with IORING_CQE_F_MORE while it stays armed; the CQE
// without it ends the request and frees the slot, as for any op.
//
// Kernels that answer a socket operation on an O_NONBLOCK socket with -EAGAIN (instead of
// waiting) get a poll for readiness first and then the operation again, under the same token.

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <vector>

#include "../../runtime/detail/fault.hpp"
#include "../../runtime/detail/reactor.hpp"
#include "backend_probe.hpp"
#include "dir_op.hpp"
#include "multishot_accept.hpp"
#include "op_table.hpp"
#include "wake_gate.hpp"

namespace corio::detail {

static_assert(completion_more == IORING_CQE_F_MORE);

namespace {

constexpr std::uint64_t ignore_tag = 0;  // completions of our own cancel requests
constexpr std::uint64_t wake_tag = 1;

// io_op::waiting: what the op's next CQE is.
constexpr std::uint8_t awaiting_op = 0;      // the operation itself
constexpr std::uint8_t awaiting_poll = 1;    // the readiness poll before a retry
constexpr std::uint8_t awaiting_forged = 2;  // a NOP standing for a forged result (fault.hpp)

/// POLLIN/POLLOUT for operations that may answer -EAGAIN; 0 for the others.
unsigned readiness_of(io_kind k) noexcept {
  switch (k) {
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
    default:
      return 0;
  }
}

bool is_dir_op(io_kind k) noexcept { return k == io_kind::mkdirat || k == io_kind::unlinkat || k == io_kind::renameat; }

void prep(io_uring_sqe* sqe, const io_request& r) noexcept {
  switch (r.kind) {
    case io_kind::read:
      io_uring_prep_read(sqe, r.fd, r.buf, static_cast<unsigned>(r.len), static_cast<__u64>(r.offset));
      break;
    case io_kind::write:
      io_uring_prep_write(sqe, r.fd, r.buf, static_cast<unsigned>(r.len), static_cast<__u64>(r.offset));
      break;
    case io_kind::recv:
      io_uring_prep_recv(sqe, r.fd, r.buf, r.len, r.flags);
      break;
    case io_kind::send:
      io_uring_prep_send(sqe, r.fd, r.buf, r.len, r.flags | MSG_NOSIGNAL);
      break;
    case io_kind::recvmsg:
      io_uring_prep_recvmsg(sqe, r.fd, r.msg, static_cast<unsigned>(r.flags));
      break;
    case io_kind::sendmsg:
      io_uring_prep_sendmsg(sqe, r.fd, r.msg, static_cast<unsigned>(r.flags | MSG_NOSIGNAL));
      break;
    case io_kind::accept:
      if (r.flags & accept_multishot)
        io_uring_prep_multishot_accept(sqe, r.fd, r.addr, r.addrlen_out, (r.flags & ~accept_multishot) | SOCK_CLOEXEC);
      else
        io_uring_prep_accept(sqe, r.fd, r.addr, r.addrlen_out, r.flags | SOCK_CLOEXEC);
      break;
    case io_kind::connect:
      io_uring_prep_connect(sqe, r.fd, r.addr, r.addrlen);
      break;
    case io_kind::close:
      io_uring_prep_close(sqe, r.fd);
      break;
    case io_kind::openat:
      io_uring_prep_openat(sqe, r.dirfd, r.path, r.flags | O_CLOEXEC, r.mode);
      break;
    case io_kind::fsync:
      io_uring_prep_fsync(sqe, r.fd, r.flags ? IORING_FSYNC_DATASYNC : 0);
      break;
    case io_kind::statx:
      io_uring_prep_statx(sqe, r.dirfd, r.path, r.flags, r.mask, r.stx);
      break;
    case io_kind::poll:
      io_uring_prep_poll_add(sqe, r.fd, static_cast<unsigned>(r.flags));
      break;
    case io_kind::shutdown:
      io_uring_prep_shutdown(sqe, r.fd, r.flags);
      break;
    case io_kind::mkdirat:
      io_uring_prep_mkdirat(sqe, r.dirfd, r.path, static_cast<mode_t>(r.mode));
      break;
    case io_kind::unlinkat:
      io_uring_prep_unlinkat(sqe, r.dirfd, r.path, r.flags);
      break;
    case io_kind::renameat:
      io_uring_prep_renameat(sqe, r.dirfd, r.path, r.dirfd, r.path2, static_cast<unsigned>(r.flags));
      break;
  }
}

class uring_reactor final : public reactor {
 public:
  explicit uring_reactor(bool single_thread) {
    // Most capable set first; older kernels refuse flags they do not know (-EINVAL).
    // DEFER_TASKRUN (6.1) runs completion work only when this worker enters the kernel, so it
    // is never interrupted for it; it needs SINGLE_ISSUER, so the ring starts disabled and is
    // enabled by the driving thread (attach).
    unsigned entries = 256;
    unsigned tiny = fault::ring_entries();  // a tiny completion queue, for the fault tests
    std::vector<unsigned> candidates;
    // TASKRUN_FLAG (with either of them, 5.19) makes the kernel raise IORING_SQ_TASKRUN when
    // completion work is waiting, so the zero-timeout poll knows when to enter (poll_events).
    if (single_thread)
      candidates.push_back(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
                           IORING_SETUP_SUBMIT_ALL | IORING_SETUP_TASKRUN_FLAG);
    candidates.push_back(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_TASKRUN_FLAG);
    candidates.push_back(0);
    int rc = -EINVAL;
    for (unsigned flags : candidates) {
      io_uring_params p{};
      p.flags = flags;
      if (tiny) {
        entries = tiny;
        p.flags |= IORING_SETUP_CQSIZE;
        p.cq_entries = tiny;
      }
      rc = io_uring_queue_init_params(entries, &ring_, &p);
      if (rc != -EINVAL) {
        disabled_ = flags & IORING_SETUP_R_DISABLED;
        break;
      }
    }
    if (rc < 0) {
      if (classify_probe_error(-rc) == probe_result::transient)
        throw std::system_error(-rc, std::generic_category(),
                                "io_uring_queue_init: no io_uring instance for this runtime (a shortage of descriptors or "
                                "memory, not a missing kernel feature, so no fallback to epoll)");
      throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
    }
    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
      dir_ops_supported_ = io_uring_opcode_supported(probe, IORING_OP_MKDIRAT) &&
                           io_uring_opcode_supported(probe, IORING_OP_UNLINKAT) &&
                           io_uring_opcode_supported(probe, IORING_OP_RENAMEAT);
      io_uring_free_probe(probe);
    }
    event_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (event_fd_ < 0) {
      int e = errno;
      io_uring_queue_exit(&ring_);
      throw std::system_error(e, std::generic_category(), "eventfd");
    }
  }

  void attach() override {
    if (!disabled_) return;
    // (liburing 2.3 declares io_uring_enable_rings but does not export it: register directly.)
    if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0)
      throw std::system_error(errno, std::generic_category(), "io_uring_register(ENABLE_RINGS)");
    disabled_ = false;
  }

  ~uring_reactor() override {
    if (!disabled_) shutdown();  // a never-enabled ring has nothing in flight
    io_uring_queue_exit(&ring_);
    ::close(event_fd_);
  }

  std::size_t park(std::optional<std::chrono::nanoseconds> timeout) override {
    drain_inbox();
    if (timeout && timeout->count() == 0) return poll_events();
    arm_wake_read();
    if (!gate_.enter()) {
      submit();
      return reap();
    }
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{};
    if (timeout) {
      ts.tv_sec = timeout->count() / 1'000'000'000;
      ts.tv_nsec = timeout->count() % 1'000'000'000;
    }
    for (;;) {
      int rc = fault::enter_result();
      if (rc == 0) rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout ? &ts : nullptr, nullptr);
      if (rc == -EBUSY) {  // completion queue full: make room, then wait again
        if (reap() > 0) break;
        continue;
      }
      break;  // -ETIME (timeout) and -EINTR (a signal) just end the wait
    }
    gate_.leave();
    return reap();
  }

  void unpark() noexcept override { gate_.unpark(event_fd_); }

  bool start(io_op* op, int* res) override {
    op->req.len = fault::cap_length(op->req.kind, op->req.len);
    int forged = 0;
    if (fault::forge_result(op->req.kind, &forged)) [[unlikely]] {
      start_forged(op, forged);
      return false;
    }
    // A send usually fits in the socket buffer: one non-blocking system call completes it
    // now, instead of a round trip through the ring (which would cost the task a suspension
    // and the worker a park). Only a full buffer (EAGAIN) goes to the kernel's queue.
    if (op->req.kind == io_kind::send) {
      ssize_t n = ::send(op->req.fd, op->req.buf, op->req.len, op->req.flags | MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        *res = n >= 0 ? static_cast<int>(n) : -errno;
        count_submitted();
        count_completed();
        return true;
      }
    }
    // A directory operation this kernel has no opcode for (dir_op.hpp): the system call, now.
    if (is_dir_op(op->req.kind) && !dir_ops_supported_) {
      *res = run_dir_op(op->req);
      count_submitted();
      count_completed();
      return true;
    }
    // The slot first: if taking it throws (std::bad_alloc), no SQE has been prepared that
    // would reach the kernel with a stale tag and a buffer about to be freed.
    op->token = ops_.add(op);
    io_uring_sqe* sqe = get_sqe();
    prep(sqe, op->req);
    op->owner = this;
    op->waiting = awaiting_op;
    io_uring_sqe_set_data64(sqe, op->token);
    count_submitted();
    return false;
  }

  void cancel(std::uint64_t token) noexcept override {
    inbox_.post(token);
    unpark();
  }

  void shutdown() noexcept override {
    drain_inbox();
    if (ops_.live() > 0) {
      // get_sqe hands out entries with the user_data of their previous use: without a tag of
      // its own, this cancel's completion could pass for that of an op still in flight.
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_cancel(sqe, nullptr, IORING_ASYNC_CANCEL_ANY);
      io_uring_sqe_set_data64(sqe, ignore_tag);
    }
    if (read_armed_) {
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_cancel64(sqe, wake_tag, 0);
      io_uring_sqe_set_data64(sqe, ignore_tag);
    }
    while (read_armed_ || ops_.live() > 0) {
      int rc = fault::enter_result();
      if (rc == 0) rc = io_uring_submit_and_wait(&ring_, 1);
      if (rc < 0 && rc != -EINTR && rc != -EBUSY) break;
      reap();
    }
  }

  backend_kind kind() const noexcept override { return backend_kind::uring; }
  bool no_io_in_flight() const noexcept override { return ops_.live() == 0; }

 private:
  io_uring_sqe* get_sqe() noexcept {
    io_uring_sqe* sqe = fault::sq_full() ? nullptr : io_uring_get_sqe(&ring_);
    while (!sqe) {  // submission queue full: hand it to the kernel and retry
      if (submit() < 0) reap();
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  /// The zero-timeout park: hands queued SQEs to the kernel and reaps. With COOP_TASKRUN or
  /// DEFER_TASKRUN a finished operation's CQE is posted only by task work that runs when this
  /// thread enters the kernel, so a worker that never blocks (always busy) would never see its
  /// completions: the kernel flags pending task work (IORING_SQ_TASKRUN, thanks to
  /// TASKRUN_FLAG) and then the poll enters with GETEVENTS. One load when nothing is pending.
  std::size_t poll_events() noexcept {
    if (io_uring_sq_ready(&ring_)) {
      submit();  // io_uring_submit enters with GETEVENTS when the flag is up (liburing)
    } else if (IO_URING_READ_ONCE(*ring_.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) {
      for (;;) {
        int rc = fault::enter_result();
        if (rc == 0) rc = io_uring_get_events(&ring_);
        if (rc == -EINTR) continue;
        if (rc == -EBUSY) {  // completion queue full: reap makes room, then run the work
          if (reap() == 0) break;
          continue;
        }
        break;
      }
    }
    return reap();
  }

  int submit() noexcept {
    for (;;) {
      int rc = fault::enter_result();
      if (rc == 0) rc = io_uring_submit(&ring_);
      if (rc == -EINTR) continue;
      if (rc == -EBUSY) {  // completion queue full (IORING_FEAT_NODROP): reap, then retry
        reap();
        continue;
      }
      return rc;
    }
  }

  void drain_inbox() noexcept {
    std::vector<std::uint64_t> tokens = inbox_.take();
    for (std::uint64_t token : tokens) {
      if (!ops_.find(token)) continue;  // already done
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_cancel64(sqe, token, 0);
      io_uring_sqe_set_data64(sqe, ignore_tag);
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
    // Completions may start new operations (and so reap again, if the queue is full): take
    // each CQE's contents and advance before calling out.
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_peek_cqe(&ring_, &cqe) != 0 || !cqe) break;
      std::uint64_t ud = io_uring_cqe_get_data64(cqe);
      int res = cqe->res;
      unsigned flags = cqe->flags;
      io_uring_cqe_seen(&ring_, cqe);
      if (ud == wake_tag) {
        read_armed_ = false;
        continue;
      }
      if (ud == ignore_tag) continue;
      io_op* op = ops_.find(ud);
      if (!op) continue;
      if (op->waiting == awaiting_forged) {
        op->waiting = awaiting_op;
        res = take_forged(ud);
      }
      if (res == -EINTR && op->req.kind != io_kind::close) {  // interrupted: run it again
        resubmit(op);
        continue;
      }
      if (op->waiting == awaiting_poll) {  // the readiness poll before a retry finished
        op->waiting = awaiting_op;
        if (res >= 0) {
          resubmit(op);
          continue;
        }
      } else if (res == -EAGAIN && readiness_of(op->req.kind)) {  // O_NONBLOCK on an old kernel
        op->waiting = awaiting_poll;
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_poll_add(sqe, op->req.fd, readiness_of(op->req.kind));
        io_uring_sqe_set_data64(sqe, ud);
        continue;
      }
      if (!(flags & IORING_CQE_F_MORE)) {  // last completion of this op
        ops_.remove(ud);
        count_completed();
      }
      op->complete(op, res, flags);
      ++dispatched;
    }
    return dispatched;
  }

  /// Prepares `op` (already in the table) again under its token; faults may strike again.
  void resubmit(io_op* op) noexcept {
    int forged = 0;
    if (fault::forge_result(op->req.kind, &forged)) [[unlikely]] {
      forge(op, forged);
      return;
    }
    io_uring_sqe* sqe = get_sqe();
    prep(sqe, op->req);
    io_uring_sqe_set_data64(sqe, op->token);
  }

  /// Starts `op` as a NOP whose completion will carry `res` instead of the NOP's result.
  void start_forged(io_op* op, int res) {
    op->token = ops_.add(op);
    op->owner = this;
    count_submitted();
    forge(op, res);
  }

  /// Queues the NOP standing for `op` (in the table). Should recording the result fail (no
  /// memory: only when an allocation fault is armed too), the real operation runs instead.
  void forge(io_op* op, int res) noexcept {
    io_uring_sqe* sqe = get_sqe();
    io_uring_sqe_set_data64(sqe, op->token);
    try {
      forged_.emplace_back(op->token, res);
    } catch (...) {
      op->waiting = awaiting_op;
      prep(sqe, op->req);
      io_uring_sqe_set_data64(sqe, op->token);
      return;
    }
    op->waiting = awaiting_forged;
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, op->token);
  }

  int take_forged(std::uint64_t token) noexcept {
    for (std::size_t i = 0; i < forged_.size(); ++i) {
      if (forged_[i].first != token) continue;
      int res = forged_[i].second;
      forged_[i] = forged_.back();
      forged_.pop_back();
      return res;
    }
    return -EIO;  // unreachable: every forged NOP has its entry
  }

  io_uring ring_{};
  bool dir_ops_supported_ = false;  // IORING_OP_MKDIRAT, UNLINKAT and RENAMEAT all known
  std::vector<std::pair<std::uint64_t, int>> forged_;  // token -> result of its forged NOP
  int event_fd_ = -1;
  std::uint64_t event_buf_ = 0;
  bool read_armed_ = false;
  bool disabled_ = false;  // created R_DISABLED, waiting for attach()
  wake_gate gate_;
  op_table ops_;
  cancel_inbox inbox_;
};

}  // namespace

std::unique_ptr<reactor> make_uring_reactor(bool single_thread) { return std::make_unique<uring_reactor>(single_thread); }

probe_result probe_uring() noexcept {
  io_uring ring;
  int rc = io_uring_queue_init(2, &ring, 0);
  if (rc < 0) return classify_probe_error(-rc);
  io_uring_queue_exit(&ring);
  return probe_result::supported;
}

namespace {

// Arms a multishot accept on a listening Unix socket of a throw-away ring and cancels it: a
// kernel that knows IORING_ACCEPT_MULTISHOT (5.19) answers -ECANCELED, an older one refuses
// the request (-EINVAL).
probe_result probe_multishot_accept() noexcept {
  io_uring ring;
  if (int rc = io_uring_queue_init(4, &ring, 0); rc < 0) return classify_probe_error(-rc);
  probe_result result = probe_result::transient;  // until the kernel has answered
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // An address of the family alone: the kernel binds an unused abstract name (autobind).
  // (No socket: a shortage of descriptors or memory, not an answer about the kernel.)
  if (s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(sa_family_t)) == 0 && ::listen(s, 1) == 0) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_multishot_accept(sqe, s, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, 1);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_cancel64(sqe, 1, 0);
    io_uring_sqe_set_data64(sqe, 2);
    int seen = 0;
    while (seen < 2) {
      int rc = io_uring_submit_and_wait(&ring, 1);
      if (rc < 0 && rc != -EINTR) break;
      io_uring_cqe* cqe = nullptr;
      while (io_uring_peek_cqe(&ring, &cqe) == 0 && cqe) {
        if (io_uring_cqe_get_data64(cqe) == 1 && !(cqe->flags & IORING_CQE_F_MORE)) {
          // -ECANCELED: armed, so supported; -EINVAL: a kernel without it. Anything else
          // (-ENOMEM, -EMFILE...) says nothing about the kernel.
          if (cqe->res == -ECANCELED)
            result = probe_result::supported;
          else
            result = classify_probe_error(-cqe->res);
          ++seen;
        } else if (io_uring_cqe_get_data64(cqe) == 2) {
          ++seen;
        }
        io_uring_cqe_seen(&ring, cqe);
      }
    }
  }
  if (s >= 0) ::close(s);
  io_uring_queue_exit(&ring);
  return result;
}

}  // namespace

bool multishot_accept_supported() noexcept {
  const char* env = std::getenv("CORIO_ACCEPT_MULTISHOT");
  if (env && std::strcmp(env, "0") == 0) return false;
  // 0: not known yet, 1: supported, 2: unsupported. Only a definite answer is kept: a probe
  // that failed for want of descriptors or memory is run again on the next call. (Racing
  // first calls may both probe; they store the same answer.)
  static std::atomic<int> known{0};
  switch (known.load(std::memory_order_relaxed)) {
    case 1:
      return true;
    case 2:
      return false;
    default:
      break;
  }
  probe_result r = probe_multishot_accept();
  if (r != probe_result::transient) known.store(r == probe_result::supported ? 1 : 2, std::memory_order_relaxed);
  return r == probe_result::supported;
}

}  // namespace corio::detail
