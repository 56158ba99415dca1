#pragma once
// Reading and writing on a descriptor, shared by sockets, pipes and files: one operation
// (read_some / write_some, awaitables), or loops that finish the job (read_exact, write_all).

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"
#include "fd_op.hpp"
#include "io_call.hpp"
#include "read_stash.hpp"

namespace corio::detail {

/// One read on a stream that keeps, in the stream's read_stash, what it took if it is dropped
/// after the kernel completed it; and answers from the stash first (read_stash.hpp).
///
/// The stash is consulted, and what it keeps taken, in await_ready, so that two readers of a
/// shared stash (stdin's) never both count on the same kept bytes. That is sound because a
/// read ready there is never dropped unseen: awaited directly it resumes at once, and select /
/// timeout make a branch that completes as it starts the winner, without starting the others.
class [[nodiscard]] stream_read {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;

  /// A socket's read: errors name its addresses. `stash` may be null (nothing kept).
  stream_read(const io_request& r, const char* what, read_stash* stash) noexcept
      : op_(r, what), stash_(stash), what_(what) {
    op_.keep_unclaimed_in(stash);
  }
  /// A read of a descriptor stream that is not a socket (a pipe, stdin): errors name it
  /// ("read pipe: ...", see throw_fd_error), and a closed descriptor (-1) fails with EBADF at
  /// once. `name` must stay valid until the await completes.
  stream_read(const io_request& r, const char* what, read_stash* stash, std::string_view name) noexcept
      : stream_read(r, what, stash) {
    name_ = name;
    named_ = true;
    if (r.fd < 0) {
      res_ = -EBADF;
      ready_ = true;
    }
  }

  bool await_ready() noexcept {
    if (!ready_ && stash_) {
      io_request& r = op_.request();
      ready_ = stash_->take(r.buf, r.len, res_);
    }
    return ready_;
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) { return op_.await_suspend(h); }
  std::size_t await_resume() {
    int res = ready_ ? res_ : op_.await_resume();
    if (res < 0) fail(-res);
    return static_cast<std::size_t>(res);
  }

 private:
  [[noreturn]] void fail(int err) {
    int fd = op_.request().fd;
    if (named_) throw_fd_error(err, what_, name_, fd);
    throw_io_error(err, what_, fd);
  }

  io_awaitable op_;
  read_stash* stash_;
  const char* what_;
  std::string_view name_;
  int res_ = 0;         ///< the answer found in await_ready (kept by the stash, or EBADF)
  bool ready_ = false;  ///< answered without the kernel: await_resume returns res_
  bool named_ = false;  ///< errors name the stream (name_), not the socket's addresses
};

/// One recv (sockets) or read (anything else): the number of bytes read, 0 at end of stream.
/// `stash` (may be null): the stream's read_stash.
inline stream_read read_some(int fd, void* data, std::size_t n, bool socket, read_stash* stash) {
  return socket ? stream_read(recv_request(fd, data, n), "recv", stash)
                : stream_read(rw_request(io_kind::read, fd, data, n, -1), "read", stash);
}
/// One send (sockets, never raising SIGPIPE) or write: the number of bytes written (may be short).
inline io_call<to_size> write_some(int fd, const void* data, std::size_t n, bool socket) {
  return socket ? io_call<to_size>(send_request(fd, data, n), "send")
                : io_call<to_size>(rw_request(io_kind::write, fd, data, n, -1), "write");
}
/// One read of a descriptor stream that is not a socket (pipe, stdin): errors name the stream
/// (`name` must outlive the await), a closed descriptor fails with EBADF at once. `stash` may
/// be null (nothing kept).
inline stream_read fd_read(int fd, std::string_view name, void* data, std::size_t n, read_stash* stash) {
  return stream_read(fd_request(io_kind::read, fd, data, n, -1), "read", stash, name);
}
/// Reads exactly n bytes (the stash's first); corio::unexpected_eof if the stream ends first.
CORIO_API task<void> read_exact(int fd, void* data, std::size_t n, bool socket, read_stash* stash);
/// read_exact through fd_read, with errors naming the stream (`name` must outlive the task).
CORIO_API task<void> fd_read_exact(int fd, std::string_view name, void* data, std::size_t n, read_stash* stash);
/// Writes all n bytes, however short the individual writes are.
CORIO_API task<void> write_all(int fd, const void* data, std::size_t n, bool socket);

}  // namespace corio::detail
