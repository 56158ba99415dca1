#pragma once
// The awaitable behind the file operations and the pipe and stdio writes (corio::fs): one
// reactor operation on a descriptor that is not a socket, with two differences from io_call:
//   - a closed descriptor (-1) fails with EBADF at once, without reaching the reactor (the
//     caller can preset another error the same way, fail_early);
//   - errors name the file: "read /var/log/x: Is a directory", or "write stdout", or
//     "read (fd 7)" when there is no name.
// `Convert` turns the kernel's count into the result (and may advance a file's cursor).
//
// The reading and writing side shared by pipes and the stdio streams is public:
// ../fs/fd_stream.hpp (fs::fd_writer's writes are fd_ops; fs::fd_reader's reads are
// stream_reads, stream_ops.hpp, which keep what a dropped read took).

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"
#include "io_call.hpp"

namespace corio::detail {

/// Largest count one read or write asks for (Linux's MAX_RW_COUNT): longer requests are short
/// reads and writes, never a truncated 32-bit length.
inline constexpr std::size_t max_rw_count = 0x7ffff000;

/// Throws std::system_error(err) with "<what> <name>" (or "<what> (fd N)" if `name` is empty).
CORIO_API [[noreturn]] void throw_fd_error(int err, const char* what, std::string_view name, int fd);

/// write_all on a descriptor written with write(2) (stream_ops.hpp has the socket one, and
/// the reads), with errors naming the stream. `name` must outlive the task.
CORIO_API task<void> fd_write_all(int fd, std::string_view name, const void* data, std::size_t n);

inline io_request fd_request(io_kind kind, int fd, const void* data, std::size_t n, std::int64_t offset) {
  return rw_request(kind, fd, data, std::min(n, max_rw_count), offset);
}

template <class Convert>
class [[nodiscard]] fd_op {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
  /// `name` must stay valid until the await completes (a literal, or the owning file's path).
  fd_op(const io_request& r, const char* what, std::string_view name, Convert conv = {}) noexcept
      : op_(r, what), what_(what), name_(name), fd_(r.fd), early_(r.fd < 0 ? EBADF : 0), conv_(std::move(conv)) {}

  /// Makes the await fail with `err` without starting the operation.
  void fail_early(int err) noexcept { early_ = err; }

  bool await_ready() const noexcept { return early_ != 0; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) { return op_.await_suspend(h); }
  decltype(auto) await_resume() {
    int r = early_ ? -early_ : op_.await_resume();
    if (r < 0) throw_fd_error(-r, what_, name_, fd_);
    return conv_(r);
  }

 private:
  io_awaitable op_;
  const char* what_;
  std::string_view name_;
  int fd_;
  int early_;  ///< errno to fail with at once (EBADF for a closed descriptor), or 0
  Convert conv_;
};

}  // namespace corio::detail
