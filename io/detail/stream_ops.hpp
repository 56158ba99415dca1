#pragma once
// Reading and writing on a descriptor, shared by sockets, pipes and files: one operation
// (read_some / write_some, awaitables), or loops that finish the job (read_exact, write_all).

#include <cstddef>
#include <cstdint>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"
#include "io_call.hpp"
#include "read_stash.hpp"

namespace corio::detail {

/// One read on a stream that keeps, in the stream's read_stash, what it took if it is dropped
/// after the kernel completed it; and answers from the stash first (read_stash.hpp).
class [[nodiscard]] stream_read {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;

  stream_read(const io_request& r, const char* what, read_stash* stash) noexcept
      : op_(r, what), stash_(stash), what_(what) {
    op_.keep_unclaimed_in(stash);
  }

  bool await_ready() const noexcept { return stash_ && !stash_->empty(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    started_ = true;
    return op_.await_suspend(h);
  }
  std::size_t await_resume() {
    io_request& r = op_.request();
    int res = started_ ? op_.await_resume() : stash_->take(r.buf, r.len);
    if (res < 0) throw_io_error(-res, what_, r.fd);
    return static_cast<std::size_t>(res);
  }

 private:
  io_awaitable op_;
  read_stash* stash_;
  const char* what_;
  bool started_ = false;
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
/// Reads exactly n bytes (the stash's first); corio::unexpected_eof if the stream ends first.
CORIO_API task<void> read_exact(int fd, void* data, std::size_t n, bool socket, read_stash* stash);
/// Writes all n bytes, however short the individual writes are.
CORIO_API task<void> write_all(int fd, const void* data, std::size_t n, bool socket);

}  // namespace corio::detail
