#pragma once
// The process's standard streams as corio streams: fs::stdin_stream(), fs::stdout_stream(),
// fs::stderr_stream().
//
//   auto in = fs::stdin_stream();
//   auto out = fs::stdout_stream();
//   buffered_reader lines(in);
//   while (auto line = co_await lines.next_line()) co_await out.write_all(*line + "\n");
//
// The wrappers do not own descriptors 0, 1 and 2: they are never closed, and copies are free.
// They do not change the descriptors' flags either (setting O_NONBLOCK on a terminal would
// change it for the shell and every other process sharing it), so the descriptors may well be
// blocking. What a read or write then does depends on the backend:
//   io_uring  the kernel waits for a pipe, socket or terminal without blocking the worker
//             (it polls, or runs the call on one of its own worker threads); aborting the task
//             cancels the operation.
//   epoll     a read or write first asks poll(2) whether the descriptor is ready and waits in
//             epoll if not, so a terminal or an empty pipe does not block the worker. Regular
//             files (stdin redirected from a file) are always ready: they are read synchronously.
//             A blocking pipe shared with another reader can still block the worker for the
//             short window in which the other reader drains what poll reported.
// stdin redirected from a regular file is read from the descriptor's current position, so a
// program sees what it would with read(2). Errors name the stream ("write stdout: Broken pipe");
// stdout_stream and stderr_stream ignore SIGPIPE as pipe_writer does (see pipe.hpp).
//
// stdin and cancellation: a read of stdin dropped after the kernel completed it (it lost a
// select or a timeout) leaves what it read in the process's one stdin stash, which every
// stdio_reader of descriptor 0 shares (it lives as long as the process, owned by the library);
// the next read of stdin, through any copy, returns it first. So a stdin read is cancel-safe
// while it has returned nothing, as a pipe's is. Copies may be used on any threads and tasks,
// at the same time too: the stash is behind a lock, and its bytes go to exactly one read. But
// two reads in flight at once (through two copies) share the bytes between them in an
// unspecified way, as two read(2) calls on one descriptor do, and a byte kept from a dropped
// read may then be returned to the other reader after bytes that followed it; read stdin from
// one task at a time to see it in order. The stash belongs to descriptor 0, not to what it
// refers to: what it keeps is returned first even if 0 is redirected (dup2) meanwhile.
//
// Nothing here is buffered: wrap a stream in buffered_reader / buffered_writer for lines and
// small writes. These are independent of <cstdio>'s and <iostream>'s buffers: flush those
// before writing here, or the output interleaves out of order.

#include <string_view>

#include "../../runtime/detail/export.hpp"
#include "../detail/read_stash.hpp"
#include "fd_stream.hpp"

namespace corio::detail {
/// The process's stdin stash (shared, never destroyed): what dropped reads of descriptor 0 took.
CORIO_API read_stash& stdin_stash() noexcept;
}  // namespace corio::detail

namespace corio::fs {

/// A non-owning reader of a descriptor (fd 0 for stdin_stream()), with read() and
/// read_exact() as fs::pipe_reader has them (same errors). Copyable, and free to copy: a
/// reader of descriptor 0 refers to the process's stdin stash (above), so its reads are
/// cancel-safe while they have returned nothing, whichever copy makes them. A reader of any
/// other descriptor has no stash: bytes the kernel read just as one of its reads was dropped
/// are lost (adopt the descriptor with a pipe_reader to keep them).
class CORIO_API stdio_reader : public fd_reader<stdio_reader> {
 public:
  /// Reads `fd` (never closed by this object); `name` names it in errors.
  constexpr stdio_reader(int fd, std::string_view name) noexcept : fd_(fd), name_(name) {}
  ///@{
  /// The descriptor, and the name used in error messages.
  int native_handle() const noexcept { return fd_; }
  std::string_view stream_name() const noexcept { return name_; }
  ///@}

 private:
  friend class fd_reader<stdio_reader>;
  detail::read_stash* read_stash() const noexcept { return fd_ == 0 ? &detail::stdin_stash() : nullptr; }

  int fd_;
  std::string_view name_;
};

/// A non-owning writer of a descriptor (fd 1 or 2), with write() and write_all() as
/// fs::pipe_writer has them (same errors and cancel safety).
class CORIO_API stdio_writer : public fd_writer<stdio_writer> {
 public:
  /// Writes `fd` (never closed by this object); `name` names it in errors.
  constexpr stdio_writer(int fd, std::string_view name) noexcept : fd_(fd), name_(name) {}
  ///@{
  /// The descriptor, and the name used in error messages.
  int native_handle() const noexcept { return fd_; }
  std::string_view stream_name() const noexcept { return name_; }
  ///@}

 private:
  int fd_;
  std::string_view name_;
};

/// Descriptor 0, named "stdin" in errors.
CORIO_API stdio_reader stdin_stream() noexcept;
/// Descriptor 1, named "stdout" in errors.
CORIO_API stdio_writer stdout_stream() noexcept;
/// Descriptor 2, named "stderr" in errors.
CORIO_API stdio_writer stderr_stream() noexcept;

}  // namespace corio::fs
