#pragma once
// The awaitable behind the file, pipe and stdio operations (corio::fs): one reactor operation
// on a descriptor that is not a socket, with two differences from io_call:
//   - a closed descriptor (-1) fails with EBADF at once, without reaching the reactor (the
//     caller can preset another error the same way, fail_early);
//   - errors name the file: "read /var/log/x: Is a directory", or "write stdout", or
//     "read (fd 7)" when there is no name.
// `Convert` turns the kernel's count into the result (and may advance a file's cursor).
//
// Also the reading and writing side shared by pipes and the stdio streams (fd_reader /
// fd_writer), the counterpart of socket_base.hpp's stream_reader / stream_writer for
// descriptors that are read with read(2) rather than recv(2).

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

/// read_exact / write_all on a descriptor read with read(2) (stream_ops.hpp has the socket
/// ones), with errors naming the stream. `name` must outlive the task.
CORIO_API task<void> fd_read_exact(int fd, std::string_view name, void* data, std::size_t n);
CORIO_API task<void> fd_write_all(int fd, std::string_view name, const void* data, std::size_t n);

inline io_request fd_request(io_kind kind, int fd, const void* data, std::size_t n, std::int64_t offset) {
  return rw_request(kind, fd, data, std::min(n, max_rw_count), offset);
}

template <class Convert>
class [[nodiscard]] fd_op {
 public:
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

/// Reading side of a pipe or stdin. Derived provides native_handle() and stream_name().
template <class Derived>
class fd_reader {
 public:
  /// Reads what is available, up to n bytes (waits for at least one): the count, 0 at end of
  /// stream (every writer closed). The buffer must stay valid until the await completes.
  fd_op<to_size> read(void* data, std::size_t n) {
    return fd_op<to_size>(fd_request(io_kind::read, fd(), data, n, -1), "read", name());
  }
  fd_op<to_size> read(std::span<std::byte> buf) { return read(buf.data(), buf.size()); }
  fd_op<to_size> read(std::span<char> buf) { return read(buf.data(), buf.size()); }
  /// Reads exactly n bytes; corio::unexpected_eof if the stream ends first.
  task<void> read_exact(void* data, std::size_t n) { return fd_read_exact(fd(), name(), data, n); }
  task<void> read_exact(std::span<std::byte> buf) { return read_exact(buf.data(), buf.size()); }
  task<void> read_exact(std::span<char> buf) { return read_exact(buf.data(), buf.size()); }

 private:
  int fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
  std::string_view name() const noexcept { return static_cast<const Derived*>(this)->stream_name(); }
};

/// Writing side of a pipe, stdout or stderr. Writing to a pipe whose readers are all gone is
/// std::system_error(EPIPE) (the stream types make sure SIGPIPE is ignored, see fs/pipe.hpp).
template <class Derived>
class fd_writer {
 public:
  /// Writes up to n bytes (at least one): the count, which may be short.
  fd_op<to_size> write(const void* data, std::size_t n) {
    return fd_op<to_size>(fd_request(io_kind::write, fd(), data, n, -1), "write", name());
  }
  fd_op<to_size> write(std::string_view s) { return write(s.data(), s.size()); }
  fd_op<to_size> write(std::span<const std::byte> buf) { return write(buf.data(), buf.size()); }
  /// Writes all n bytes (finishing short writes).
  task<void> write_all(const void* data, std::size_t n) { return fd_write_all(fd(), name(), data, n); }
  task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  task<void> write_all(std::span<const std::byte> buf) { return write_all(buf.data(), buf.size()); }

 private:
  int fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
  std::string_view name() const noexcept { return static_cast<const Derived*>(this)->stream_name(); }
};

}  // namespace corio::detail
