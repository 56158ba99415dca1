#pragma once
// corio::fs::file — an open file, read and written through the reactor of the worker that
// runs the task.
//
//   auto f = co_await fs::file::open("data.bin");                  // read-only
//   std::size_t n = co_await f.read(buf, sizeof buf);              // at the cursor, 0 at EOF
//   co_await f.read_exact_at(header, sizeof header, 0);            // at an offset
//   auto out = co_await fs::file::open("out.log", fs::open_options().append().create());
//   co_await out.write_all("line\n");
//   co_await out.fsync();
//   co_await out.close();                                          // reports close errors
//
// Positions: read_at/write_at name their offset and leave the cursor alone, so several tasks
// may use them on one file at once. read/write (and read_exact/write_all) use the file's cursor,
// kept in this object (not the kernel's file position) and advanced by the count when the await
// completes: cursor operations on one file must not overlap. In append mode every write goes to
// the end of the file (whatever offset it names, as on Linux's pwrite) and the cursor is not
// moved by writes. A file that cannot seek (a FIFO or device opened by path) reads and writes
// at the kernel's position instead; read_at/write_at then fail with ESPIPE.
//
// Backends: under io_uring each operation is one SQE (the kernel runs regular-file I/O in its
// own worker threads when it would block). Under epoll, regular files never report "would
// block", so opens, reads, writes, fsync and statx run synchronously on the worker: fast for
// cached data, but a slow disk stalls that worker for the duration of the call.
//
// Errors are std::system_error carrying the errno, with the operation and path in the message
// ("open /etc/x: No such file or directory"). A closed or moved-from file fails with EBADF.
// Buffers must stay valid, and the file must stay in place, until the await completes;
// aborting the task keeps its frame (and so the buffers in it) alive until the kernel is done.
// Dropping a file closes its descriptor synchronously; close() does it through the reactor and
// reports errors (EIO from a delayed write-back, on some file systems).

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"
#include "../detail/fd.hpp"
#include "../detail/fd_op.hpp"
#include "../owned_fd.hpp"
#include "metadata.hpp"
#include "open_options.hpp"

namespace corio::detail {

/// The conversion of a cursor read or write: advances the owning file's cursor by the count.
struct advance_cursor {
  std::uint64_t* pos;
  std::size_t operator()(int r) const noexcept {
    if (pos) *pos += static_cast<std::uint64_t>(r);
    return static_cast<std::size_t>(r);
  }
};

}  // namespace corio::detail

namespace corio::fs {

/// An open file (see above). Move-only; dropping it closes the descriptor. read_at/write_at
/// may be used by several tasks at once; cursor operations by one at a time.
class CORIO_API file {
 public:
  ///@{
  /// Awaitables returned by the operations: a byte count, a count that also moves the cursor,
  /// nothing (fsync).
  using op = detail::fd_op<detail::to_size>;
  using cursor_op = detail::fd_op<detail::advance_cursor>;
  using sync_op = detail::fd_op<detail::to_void>;
  ///@}

  /// A closed file (every operation fails with EBADF).
  file() noexcept = default;
  /// Adopts an open descriptor (closed when the file is dropped); `name` names it in error
  /// messages. The cursor starts at the descriptor's current position.
  explicit file(owned_fd f, std::string name = {});
  /// Takes over the other file's descriptor and cursor; that one is left closed.
  file(file&&) noexcept = default;
  /// Closes this file, then takes over the other's descriptor and cursor (left closed).
  file& operator=(file&&) noexcept = default;

  /// Opens `path` as `opts` say. std::system_error naming the path on failure (ENOENT, EACCES,
  /// EEXIST for create_new, EISDIR for writing a directory, EINVAL for invalid options).
  /// Awaited in a task on any worker.
  ///
  /// **Cancel safety:** no descriptor leaks (one opened as the open is dropped is closed), but
  /// the open's side effects stay: with create / truncate the file may have been created or
  /// emptied.
  static task<file> open(std::string path, open_options opts);
  /// Opens `path` for reading.
  static task<file> open(std::string path) { return open(std::move(path), open_options().read()); }
  /// Opens `path` for writing, creating it or emptying it.
  static task<file> create(std::string path) {
    return open(std::move(path), open_options().write().create().truncate());
  }

  ///@{
  /// Reads up to n bytes at `offset`: the count (short near the end of the file), 0 at or
  /// past the end. Cancel-safe: a dropped read changes nothing (the buffer may have been
  /// partly written into).
  op read_at(void* data, std::size_t n, std::uint64_t offset) {
    return positional(detail::io_kind::read, data, n, offset, "read");
  }
  op read_at(std::span<std::byte> buf, std::uint64_t offset) { return read_at(buf.data(), buf.size(), offset); }
  op read_at(std::span<char> buf, std::uint64_t offset) { return read_at(buf.data(), buf.size(), offset); }
  ///@}
  ///@{
  /// Writes up to n bytes at `offset` (see append mode above): the count, which may be short.
  /// Not cancel-safe: dropped, the bytes may have been written (rewriting them at the same
  /// offset is harmless, except in append mode).
  op write_at(const void* data, std::size_t n, std::uint64_t offset) {
    return positional(detail::io_kind::write, data, n, offset, "write");
  }
  op write_at(std::string_view s, std::uint64_t offset) { return write_at(s.data(), s.size(), offset); }
  op write_at(std::span<const std::byte> buf, std::uint64_t offset) { return write_at(buf.data(), buf.size(), offset); }
  ///@}
  /// Reads exactly n bytes at `offset`; corio::unexpected_eof if the file ends first.
  /// Cancel-safe as read_at: nothing but the buffer changes.
  task<void> read_exact_at(void* data, std::size_t n, std::uint64_t offset);
  /// Writes all n bytes at `offset`, finishing short writes. Not cancel-safe: dropped part-way,
  /// a prefix of unknown length has been written.
  task<void> write_all_at(const void* data, std::size_t n, std::uint64_t offset);

  ///@{
  /// Reads up to n bytes at the cursor and advances it by the count; 0 at the end of the file.
  /// Cancel-safe: dropped, the cursor has not moved (and a file read consumes nothing).
  cursor_op read(void* data, std::size_t n) {
    return cursor_op(detail::fd_request(detail::io_kind::read, fd_.get(), data, n, cursor()), "read", path_,
                     detail::advance_cursor{&pos_});
  }
  cursor_op read(std::span<std::byte> buf) { return read(buf.data(), buf.size()); }
  cursor_op read(std::span<char> buf) { return read(buf.data(), buf.size()); }
  ///@}
  ///@{
  /// Writes up to n bytes at the cursor (at the end in append mode) and advances it by the
  /// count (not in append mode). The count may be short. Not cancel-safe: dropped, the bytes
  /// may have been written, but the cursor has not moved.
  cursor_op write(const void* data, std::size_t n) {
    return cursor_op(detail::fd_request(detail::io_kind::write, fd_.get(), data, n, append_ ? -1 : cursor()), "write",
                     path_, detail::advance_cursor{append_ ? nullptr : &pos_});
  }
  cursor_op write(std::string_view s) { return write(s.data(), s.size()); }
  cursor_op write(std::span<const std::byte> buf) { return write(buf.data(), buf.size()); }
  ///@}
  ///@{
  /// Reads exactly n bytes at the cursor; corio::unexpected_eof if the file ends first (the
  /// cursor then sits at the end, after the bytes that did arrive). Not cancel-safe: dropped
  /// part-way, the cursor has moved past the bytes read so far (in the buffer's first part).
  task<void> read_exact(void* data, std::size_t n);
  task<void> read_exact(std::span<std::byte> buf) { return read_exact(buf.data(), buf.size()); }
  task<void> read_exact(std::span<char> buf) { return read_exact(buf.data(), buf.size()); }
  ///@}
  ///@{
  /// Writes all n bytes at the cursor (or the end, in append mode), finishing short writes.
  /// Not cancel-safe: dropped part-way, a prefix has been written and the cursor moved past it.
  task<void> write_all(const void* data, std::size_t n);
  task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  task<void> write_all(std::span<const std::byte> buf) { return write_all(buf.data(), buf.size()); }
  ///@}

  /// The cursor: where the next read or write starts.
  std::uint64_t position() const noexcept { return pos_; }
  /// Moves the cursor (past the end is allowed: a write there leaves a hole).
  void seek(std::uint64_t pos) noexcept { pos_ = pos; }

  /// Flushes the file's data and metadata to the device (fsync). std::system_error on
  /// failure. Dropped, the flush may or may not have happened: await it again.
  sync_op fsync() { return sync(0, "fsync"); }
  /// Flushes the data, and only the metadata needed to read it back (fdatasync).
  sync_op fdatasync() { return sync(1, "fdatasync"); }

  /// statx of the open file (kind, size, permissions, times). std::system_error on failure.
  /// Cancel-safe (it changes nothing).
  task<file_metadata> metadata();

  /// Closes the descriptor through the reactor and reports the kernel's verdict. The file is
  /// closed (is_open() false) from the call on, even if this throws or the task is aborted.
  /// std::system_error with the kernel's error (EIO from a delayed write-back, ...). Dropped while
  /// in flight, the file object stays closed and the kernel's result is not reported.
  task<void> close();

  /// False once closed or moved from.
  bool is_open() const noexcept { return fd_.valid(); }
  /// The descriptor (-1 when closed); still owned by the file.
  int native_handle() const noexcept { return fd_.get(); }
  /// The path it was opened with (or the name given to the adopting constructor).
  const std::string& path() const noexcept { return path_; }
  /// Opened with append (O_APPEND).
  bool appends() const noexcept { return append_; }

 private:
  static std::int64_t to_offset(std::uint64_t offset) noexcept {
    return offset > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(offset);
  }
  std::int64_t cursor() const noexcept { return seekable_ ? to_offset(pos_) : -1; }
  op positional(detail::io_kind kind, const void* data, std::size_t n, std::uint64_t offset, const char* what) {
    op o(detail::fd_request(kind, fd_.get(), data, n, to_offset(offset)), what, path_);
    if (!seekable_ && fd_.valid()) o.fail_early(ESPIPE);  // at once, not when data arrives
    return o;
  }
  sync_op sync(int flags, const char* what) {
    detail::io_request r;
    r.kind = detail::io_kind::fsync;
    r.fd = fd_.get();
    r.flags = flags;
    return sync_op(r, what, path_);
  }

  owned_fd fd_;
  std::string path_;
  std::uint64_t pos_ = 0;
  bool append_ = false;
  bool seekable_ = true;
};

}  // namespace corio::fs
