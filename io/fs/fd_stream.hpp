#pragma once
// corio::fs::fd_reader, fd_writer — the reading and writing side of the descriptor streams
// that are not sockets (pipe_reader / pipe_writer, the stdio streams), and fs::io_operation,
// the awaitable their read() and write() return.
//
// A stream type derives from fd_reader<Self> or fd_writer<Self> (the CRTP: the base asks the
// derived type for `int native_handle() const` and `std::string_view stream_name() const`) and
// gets the operations with their error messages ("write stdout: Broken pipe", "read pipe: ...",
// "read (fd 7)" for a nameless stream). Each read or write is one reactor operation on the
// worker running the task; the task resumes on whichever worker picks it up. The buffer must
// stay valid until the await completes (aborting the task keeps its frame, and so a buffer in
// it, alive until the kernel lets go). A closed descriptor (-1) fails with EBADF at once.
// Sockets have their own counterparts, net::stream_reader / stream_writer (io/socket.hpp).

#include <cstddef>
#include <span>
#include <string_view>

#include "../../runtime/task.hpp"
#include "../detail/fd_op.hpp"

namespace corio::fs {

/// The awaitable of one read or write on a pipe, a stdio stream or a file (fd_reader::read,
/// fd_writer::write, file::read / write): `co_await` resumes with the number of bytes
/// transferred, 0 for a read at end of stream, possibly fewer than asked. Throws
/// std::system_error naming the stream on failure. Movable until awaited; awaited once.
///
/// **Cancel safety:** a read is cancel-safe while it has returned nothing, except that bytes
/// the kernel read just as it was dropped are lost; a write is not cancel-safe (dropped, it
/// may have written its bytes).
using io_operation = detail::fd_op<detail::to_size>;

/// The reading side of a descriptor stream (pipe_reader, stdio_reader). `Derived` provides
/// `int native_handle() const` and `std::string_view stream_name() const`. One task (or plain
/// thread) at a time per stream; the caller resumes on a worker.
template <class Derived>
class fd_reader {
 public:
  /// Reads what is available, up to `n` bytes, waiting for at least one: resumes with the
  /// count, 0 at end of stream (every writer closed). std::system_error naming the stream on
  /// failure (EBADF for a closed one). The buffer must stay valid until the await completes.
  ///
  /// **Cancel safety:** cancel-safe while it has returned nothing (see io_operation for the
  /// one race that loses the bytes of a read completing as it is dropped).
  io_operation read(void* data, std::size_t n) {
    return io_operation(detail::fd_request(detail::io_kind::read, fd(), data, n, -1), "read", name());
  }
  /// read() into `buf`.
  io_operation read(std::span<std::byte> buf) { return read(buf.data(), buf.size()); }
  /// read() into `buf`.
  io_operation read(std::span<char> buf) { return read(buf.data(), buf.size()); }
  /// Reads exactly `n` bytes, however many reads it takes; corio::unexpected_eof if the stream
  /// ends first, std::system_error on failure.
  ///
  /// **Cancel safety:** not cancel-safe: dropped part-way, the bytes read so far are consumed.
  task<void> read_exact(void* data, std::size_t n) { return detail::fd_read_exact(fd(), name(), data, n); }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<std::byte> buf) { return read_exact(buf.data(), buf.size()); }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<char> buf) { return read_exact(buf.data(), buf.size()); }

 private:
  int fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
  std::string_view name() const noexcept { return static_cast<const Derived*>(this)->stream_name(); }
};

/// The writing side of a descriptor stream (pipe_writer, stdio_writer). Writing to a pipe
/// whose readers are all gone is std::system_error(EPIPE): the stream types make sure SIGPIPE
/// is ignored (see pipe.hpp). `Derived` provides native_handle() and stream_name() as for
/// fd_reader. One task (or plain thread) at a time per stream; the caller resumes on a worker.
template <class Derived>
class fd_writer {
 public:
  /// Writes up to `n` bytes (at least one): resumes with the count, which may be short.
  /// std::system_error naming the stream on failure. The buffer must stay valid until the
  /// await completes.
  ///
  /// **Cancel safety:** not cancel-safe: dropped, the bytes may have been written.
  io_operation write(const void* data, std::size_t n) {
    return io_operation(detail::fd_request(detail::io_kind::write, fd(), data, n, -1), "write", name());
  }
  /// write() of `s`.
  io_operation write(std::string_view s) { return write(s.data(), s.size()); }
  /// write() of `buf`.
  io_operation write(std::span<const std::byte> buf) { return write(buf.data(), buf.size()); }
  /// Writes all `n` bytes, finishing short writes; std::system_error on failure (the bytes
  /// before the failing write were written).
  ///
  /// **Cancel safety:** not cancel-safe: dropped part-way, a prefix of unknown length (possibly
  /// all of it) has been written.
  task<void> write_all(const void* data, std::size_t n) { return detail::fd_write_all(fd(), name(), data, n); }
  /// write_all() of `s`.
  task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  /// write_all() of `buf`.
  task<void> write_all(std::span<const std::byte> buf) { return write_all(buf.data(), buf.size()); }

 private:
  int fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
  std::string_view name() const noexcept { return static_cast<const Derived*>(this)->stream_name(); }
};

}  // namespace corio::fs
