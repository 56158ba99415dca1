#pragma once
// corio::fs::fd_reader, fd_writer — the reading and writing side of the descriptor streams
// that are not sockets (pipe_reader / pipe_writer, the stdio streams), and fs::read_operation /
// fs::io_operation, the awaitables their read() and write() return.
//
// A stream type derives from fd_reader<Self> or fd_writer<Self> (the CRTP: the base asks the
// derived type for `int native_handle() const` and `std::string_view stream_name() const`, and
// fd_reader also for the stream's read stash, below) and gets the operations with their error
// messages ("write stdout: Broken pipe", "read pipe: ...", "read (fd 7)" for a nameless
// stream). Each read or write is one reactor operation on the worker running the task; the
// task resumes on whichever worker picks it up. The buffer must stay valid until the await
// completes (aborting the task keeps its frame, and so a buffer in it, alive until the kernel
// lets go). A closed descriptor (-1) fails with EBADF at once.
//
// A read dropped after the kernel completed it (with io_uring its request often reaches the
// kernel together with the cancellation) leaves what it read, the end of the stream or its
// error in the stream's read stash, and the next read returns that first
// (detail/read_stash.hpp): the same protocol as the stream sockets' (net::read_operation).
// pipe_reader owns its stash; the stdio readers of fd 0 share the process's stdin stash
// (stdio.hpp). Sockets have their own counterparts, net::stream_reader / stream_writer
// (io/socket.hpp).

#include <cstddef>
#include <span>
#include <string_view>

#include "../../runtime/task.hpp"
#include "../detail/fd_op.hpp"
#include "../detail/read_stash.hpp"
#include "../detail/stream_ops.hpp"

namespace corio::fs {

/// The awaitable of one read on a pipe or a stdio stream (fd_reader::read): `co_await` resumes
/// with the number of bytes read, 0 at end of stream, possibly fewer than asked. Throws
/// std::system_error naming the stream on failure (EBADF at once for a closed one). Movable
/// until awaited; awaited once.
///
/// **Cancel safety:** cancel-safe while it has returned nothing. Dropped at its suspension
/// point (it lost a select or a timeout, or its task was aborted), the kernel request is
/// cancelled; if the kernel had already completed it, what it read (bytes, the end of the
/// stream, or an error) is kept by the stream and returned by its next read or read_exact, in
/// order. So the same read can simply be awaited again: no byte is lost or reordered. (A
/// stdio_reader of a descriptor other than 0 has nowhere to keep them: see stdio.hpp.) The
/// same type as net::read_operation.
using read_operation = detail::stream_read;

/// The awaitable of one write on a pipe or a stdio stream (fd_writer::write): `co_await`
/// resumes with the number of bytes written, possibly fewer than asked. Throws
/// std::system_error naming the stream on failure. Movable until awaited; awaited once.
///
/// **Cancel safety:** not cancel-safe: dropped, it may have written its bytes.
using io_operation = detail::fd_op<detail::to_size>;

/// The reading side of a descriptor stream (pipe_reader, stdio_reader). `Derived` provides
/// `int native_handle() const`, `std::string_view stream_name() const` and
/// `detail::read_stash* read_stash() noexcept` (where a dropped read's outcome is kept, or
/// null; fd_reader may be its friend). One task (or plain thread) at a time per stream, unless
/// the stream says otherwise (stdin_stream()); the caller resumes on a worker.
template <class Derived>
class fd_reader {
 public:
  /// Reads what is available, up to `n` bytes, waiting for at least one: resumes with the
  /// count, 0 at end of stream (every writer closed). std::system_error naming the stream on
  /// failure (EBADF for a closed one). The buffer, and this stream, must stay valid until the
  /// await completes.
  ///
  /// **Cancel safety:** cancel-safe while it has returned nothing (see read_operation): a read
  /// dropped after the kernel completed it leaves what it read to the stream's next read.
  read_operation read(void* data, std::size_t n) { return detail::fd_read(fd(), name(), data, n, stash()); }
  /// read() into `buf`.
  read_operation read(std::span<std::byte> buf) { return read(buf.data(), buf.size()); }
  /// read() into `buf`.
  read_operation read(std::span<char> buf) { return read(buf.data(), buf.size()); }
  /// Reads exactly `n` bytes, however many reads it takes (what a dropped read kept first);
  /// corio::unexpected_eof if the stream ends first, std::system_error on failure.
  ///
  /// **Cancel safety:** not cancel-safe: dropped part-way, the bytes read so far are consumed.
  task<void> read_exact(void* data, std::size_t n) { return detail::fd_read_exact(fd(), name(), data, n, stash()); }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<std::byte> buf) { return read_exact(buf.data(), buf.size()); }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<char> buf) { return read_exact(buf.data(), buf.size()); }

 private:
  int fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
  std::string_view name() const noexcept { return static_cast<const Derived*>(this)->stream_name(); }
  detail::read_stash* stash() noexcept { return static_cast<Derived*>(this)->read_stash(); }
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
