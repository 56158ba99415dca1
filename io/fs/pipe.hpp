#pragma once
// corio::fs::pipe — an anonymous pipe as a pair of stream types:
//
//   auto [rd, wr] = fs::pipe();
//   co_await wr.write_all("hello\n");
//   std::size_t n = co_await rd.read(buf, sizeof buf);     // 0: every writer is closed
//
// Both ends are close-on-exec and non-blocking (O_NONBLOCK on the descriptors, which matters
// only to plain threads using native_handle(): they must poll). The ends may be used by
// different tasks, on different workers, or one of them by a plain thread. Each read and write
// is one reactor operation; a write may be short (write_all finishes it). Writing once the
// read end is closed is std::system_error(EPIPE): creating a pipe_writer (or a stdio writer)
// sets SIGPIPE to SIG_IGN if it still has its default action, so a broken pipe is an error
// and not the death of the process. (Rust programs run that way too; a handler of yours is
// left alone.) A closed or moved-from end fails with EBADF.

#include <string_view>
#include <utility>

#include "../../runtime/detail/export.hpp"
#include "../detail/read_stash.hpp"
#include "../owned_fd.hpp"
#include "fd_stream.hpp"

namespace corio::detail {
/// Sets SIGPIPE to SIG_IGN if its action is the default (once per process; thread-safe).
CORIO_API void ignore_sigpipe() noexcept;
}  // namespace corio::detail

namespace corio::fs {

/// What both ends of a pipe have: the owned descriptor, and the calls on it. Not used on its
/// own: pipe_reader and pipe_writer derive from it. Move-only; one task (or plain thread) at a
/// time per end.
class pipe_end {
 public:
  /// The descriptor (-1 when closed); still owned by this end.
  int native_handle() const noexcept { return fd_.get(); }
  /// False once closed or moved from (every operation then fails with EBADF).
  bool is_open() const noexcept { return fd_.valid(); }
  /// Closes this end now. Closing the read end makes writes fail with EPIPE; once every write
  /// end is closed, the reader sees the end of the stream. Never throws.
  void close() noexcept { fd_.reset(); }
  /// The name used in error messages ("pipe").
  std::string_view stream_name() const noexcept { return "pipe"; }

 protected:
  /// A closed end.
  pipe_end() noexcept = default;
  /// Adopts `f`; it is closed when the end is dropped.
  explicit pipe_end(owned_fd f) noexcept : fd_(std::move(f)) {}

 private:
  owned_fd fd_;
};

/// The read end of a pipe (or any readable descriptor adopted with the constructor).
///
/// Its reading operations come from fd_reader: `read(data, n)` (and span overloads: up to n
/// bytes, at least one; 0 once every writer is closed) and `read_exact(data, n)`
/// (corio::unexpected_eof if the pipe ends first); both throw std::system_error naming the
/// pipe on failure. **Cancel safety:** read() is cancel-safe while it has returned nothing
/// (fs::read_operation): a read dropped after the kernel completed it leaves what it read
/// (bytes, the end of the stream, an error) to this reader's next read or read_exact, in
/// order, as a socket's read_operation does; read_exact() is not: dropped part-way, the bytes
/// read so far are consumed. The reader must outlive its reads, dropped ones included; moving
/// it moves what it keeps. Move-only; one task (or plain thread) at a time per end.
class CORIO_API pipe_reader : public pipe_end, public fd_reader<pipe_reader> {
 public:
  /// A closed end (every operation fails with EBADF).
  pipe_reader() noexcept = default;
  /// Adopts `f`; it is closed when the reader is dropped.
  explicit pipe_reader(owned_fd f) noexcept : pipe_end(std::move(f)) {}

 private:
  friend class fd_reader<pipe_reader>;
  detail::read_stash* read_stash() noexcept { return &stash_; }

  detail::read_stash stash_;  ///< what a dropped read took, for the next read (read_stash.hpp)
};

/// The write end of a pipe (or any writable descriptor adopted with the constructor).
///
/// Its writing operations come from fd_writer: `write(data, n)` (and string_view / span
/// overloads: up to n bytes, possibly short) and `write_all(data, n)`; both throw
/// std::system_error (EPIPE once the read end is closed). **Cancel safety:** neither is
/// cancel-safe: dropped, write() may have written its bytes and write_all() a prefix of unknown
/// length. Move-only; one task (or plain thread) at a time per end.
class CORIO_API pipe_writer : public pipe_end, public fd_writer<pipe_writer> {
 public:
  /// A closed end (every operation fails with EBADF).
  pipe_writer() noexcept = default;
  /// Adopts `f`; it is closed when the writer is dropped. Ignores SIGPIPE (see above).
  explicit pipe_writer(owned_fd f) noexcept : pipe_end(std::move(f)) { detail::ignore_sigpipe(); }
};

/// A new pipe (pipe2 with O_CLOEXEC | O_NONBLOCK): {read end, write end}. std::system_error
/// (EMFILE, ENFILE) if the kernel refuses.
CORIO_API std::pair<pipe_reader, pipe_writer> pipe();

}  // namespace corio::fs
