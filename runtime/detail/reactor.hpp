#pragma once
// The narrow interface between a worker and its I/O backend (io/): the worker parks in its
// reactor with the next timer deadline as timeout, other threads wake it through `unpark`, and
// tasks start operations on the reactor of the worker they run on.
//
// The io_uring backend parks in io_uring_submit_and_wait_timeout and is woken by a write to an
// eventfd it always has a read pending on; operations are SQEs, queued by `start` and handed to
// the kernel in one io_uring_enter when the worker parks or polls (not one syscall per
// operation). The epoll backend waits in epoll_pwait2 on the same kind of eventfd and runs
// operations as non-blocking system calls, waiting for readiness when they would block.
//
// One reactor per worker, created and driven on that worker's thread; `unpark` and `cancel` may
// be called from any thread.

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "export.hpp"

struct statx;
struct msghdr;

namespace corio::detail {

enum class backend_kind { uring, epoll };

/// What a reactor calls when an operation completes. `res` is the kernel's result (bytes,
/// descriptor, or -errno).
struct io_completion {
  void (*complete)(io_completion* self, int res, unsigned flags) noexcept = nullptr;
};

enum class io_kind : std::uint8_t {
  read,      ///< read(fd, buf, len) at `offset` (-1: the file position)
  write,     ///< write(fd, buf, len) at `offset` (-1: the file position)
  recv,      ///< recv(fd, buf, len, flags)
  send,      ///< send(fd, buf, len, flags | MSG_NOSIGNAL)
  recvmsg,   ///< recvmsg(fd, msg, flags)
  sendmsg,   ///< sendmsg(fd, msg, flags | MSG_NOSIGNAL)
  accept,    ///< accept4(fd, addr, addrlen, SOCK_CLOEXEC | flags)
  connect,   ///< connect(fd, addr, addrlen)
  close,     ///< close(fd)
  openat,    ///< openat(dirfd, path, flags | O_CLOEXEC, mode)
  fsync,     ///< fsync(fd) (fdatasync if flags)
  statx,     ///< statx(dirfd, path, flags, mask, stx)
  poll,      ///< poll(fd, events): completes with the ready events
  shutdown,  ///< shutdown(fd, how)
  // Directory operations (corio::fs, issue 18): IORING_OP_MKDIRAT / UNLINKAT / RENAMEAT where
  // the kernel has them, else (and under epoll) the system call, run at once on the worker.
  mkdirat,   ///< mkdirat(dirfd, path, mode)
  unlinkat,  ///< unlinkat(dirfd, path, flags) (flags: 0 or AT_REMOVEDIR)
  renameat,  ///< renameat2(dirfd, path, dirfd, path2, flags)
};

struct io_request {
  io_kind kind{};
  int fd = -1;
  void* buf = nullptr;
  std::size_t len = 0;
  std::int64_t offset = -1;
  int flags = 0;
  sockaddr* addr = nullptr;
  socklen_t addrlen = 0;
  socklen_t* addrlen_out = nullptr;  ///< accept
  msghdr* msg = nullptr;
  const char* path = nullptr;
  const char* path2 = nullptr;  ///< renameat: the new name
  int dirfd = -100;  ///< AT_FDCWD
  unsigned mode = 0;
  unsigned mask = 0;  ///< statx mask
  struct ::statx* stx = nullptr;
};

class reactor;

/// An operation in flight: lives in the awaiting frame until the kernel has completed it.
/// `complete` runs on the owning reactor's thread.
struct io_op : io_completion {
  io_request req;
  reactor* owner = nullptr;
  std::uint64_t token = 0;     ///< the reactor's handle for it while in flight (cancel uses it)
  std::uint8_t waiting = 0;    ///< backend-private: POLLIN/POLLOUT awaited before a retry
};

class reactor {
 public:
  virtual ~reactor() = default;

  /// Submits queued operations, then waits for completions until one arrives, `unpark` is
  /// called, or `timeout` passes (nullopt: no timeout; zero: do not wait). Dispatches every
  /// completion it reaps. Returns the number of completions dispatched (wake-ups excluded).
  virtual std::size_t park(std::optional<std::chrono::nanoseconds> timeout) = 0;

  /// Thread-safe: makes a concurrent park return, or the next one return at once.
  virtual void unpark() noexcept = 0;

  /// On the owning thread: starts `op`. Returns true if it completed at once (then
  /// `op->complete` has NOT been called and the result is in *res); false if it is in flight
  /// and `op->complete` will be called exactly once, on this reactor's thread.
  virtual bool start(io_op* op, int* res) = 0;

  /// Any thread: asks the kernel to cancel `op` (identified by `token`, so a request that
  /// arrives after the operation finished and its slot was reused is harmless). The operation
  /// still completes exactly once (with -ECANCELED, or its real result if it won the race).
  virtual void cancel(std::uint64_t token) noexcept = 0;

  /// Called once on the thread that will drive this reactor from now on, before its first park
  /// (a reactor created for a single thread binds itself to it here).
  virtual void attach() {}

  /// Cancels every operation in flight and waits until the kernel has completed them all (so
  /// no buffer is written afterwards). On the driving thread, or after it has exited.
  virtual void shutdown() noexcept = 0;

  virtual backend_kind kind() const noexcept = 0;

  /// On the owning thread: true if no operation of this reactor is in flight (its worker may
  /// then look for tasks a little before it parks, without delaying any completion).
  virtual bool no_io_in_flight() const noexcept = 0;

  /// Operations started and completed so far (for metrics; any thread).
  std::uint64_t submitted() const noexcept { return submitted_.load(std::memory_order_relaxed); }
  std::uint64_t completed() const noexcept { return completed_.load(std::memory_order_relaxed); }

 protected:
  // Written by the owner only.
  void count_submitted() noexcept { submitted_.store(submitted_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  void count_completed() noexcept { completed_.store(completed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> submitted_{0}, completed_{0};
};

/// The backend this process uses: io_uring unless it is unavailable (setup fails with EPERM,
/// ENOSYS or EINVAL) or CORIO_BACKEND=epoll; decided once a probe gives a definite answer. A
/// probe that fails for want of descriptors or memory (EMFILE, ENFILE, ENOMEM) decides nothing
/// and answers io_uring, so the runtime being built reports the shortage (std::system_error from
/// make_reactor) and a later one probes again (io/detail/backend_probe.hpp). Throws
/// std::runtime_error if CORIO_BACKEND holds something else.
CORIO_TEST_API backend_kind default_backend();

/// Creates a reactor of the given kind. `single_thread`: only one thread will ever drive it
/// (it calls attach() first), which lets io_uring skip cross-thread work (SINGLE_ISSUER,
/// DEFER_TASKRUN). Throws std::system_error if the kernel refuses.
CORIO_TEST_API std::unique_ptr<reactor> make_reactor(backend_kind kind, bool single_thread);

CORIO_API const char* to_string(backend_kind kind) noexcept;

/// Parses a CORIO_BACKEND value: "uring" (or "io_uring"), "epoll"; nullopt for null or empty.
/// Throws std::runtime_error naming anything else.
CORIO_TEST_API std::optional<backend_kind> parse_backend(const char* value);

}  // namespace corio::detail
