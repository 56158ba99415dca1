// corio::fs::file and metadata: opening through the reactor (io_kind::openat), the looping
// reads and writes, statx, and the close that reports its result.
//
// The cursor (file::pos_) belongs to the object, not the kernel: cursor operations pass it as
// the offset and advance it when the await completes (detail::advance_cursor). Descriptors that
// cannot seek (lseek fails with ESPIPE when the file is adopted) pass -1 instead: the kernel's
// position. Append mode writes pass -1 too; O_APPEND puts them at the end either way.

#include "file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "../io_error.hpp"

namespace corio::fs {

namespace {

[[noreturn]] void throw_path_error(int err, const char* what, const std::string& path) {
  throw std::system_error(err, std::generic_category(), fmt::format("{} {}", what, path));
}

detail::io_request statx_request(int dirfd, const char* path, int flags, struct ::statx* st) {
  detail::io_request r;
  r.kind = detail::io_kind::statx;
  r.dirfd = dirfd;
  r.path = path;
  r.flags = flags;
  r.mask = STATX_BASIC_STATS | STATX_BTIME;
  r.stx = st;
  return r;
}

task<file_metadata> stat_path(std::string path, int flags, const char* what) {
  struct ::statx st {};
  detail::io_request r = statx_request(AT_FDCWD, path.c_str(), flags, &st);
  int rc = co_await detail::io_awaitable(r, what);
  if (rc < 0) throw_path_error(-rc, what, path);
  co_return detail::to_metadata(st);
}

}  // namespace

const char* to_string(file_kind kind) noexcept {
  switch (kind) {
    case file_kind::regular: return "regular";
    case file_kind::directory: return "directory";
    case file_kind::symlink: return "symlink";
    case file_kind::fifo: return "fifo";
    case file_kind::socket: return "socket";
    case file_kind::block_device: return "block_device";
    case file_kind::char_device: return "char_device";
    case file_kind::unknown: break;
  }
  return "unknown";
}

task<file_metadata> metadata(std::string path) { return stat_path(std::move(path), 0, "metadata"); }

task<file_metadata> symlink_metadata(std::string path) {
  return stat_path(std::move(path), AT_SYMLINK_NOFOLLOW, "symlink_metadata");
}

file::file(detail::fd f, std::string name) : fd_(std::move(f)), path_(std::move(name)) {
  if (!fd_.valid()) return;
  off_t at = ::lseek(fd_.get(), 0, SEEK_CUR);
  if (at < 0) seekable_ = false;
  else pos_ = static_cast<std::uint64_t>(at);
  int fl = ::fcntl(fd_.get(), F_GETFL);
  append_ = fl >= 0 && (fl & O_APPEND);
}

task<file> file::open(std::string path, open_options opts) {
  const char* problem = nullptr;
  int flags = opts.flags(&problem);
  if (flags < 0) throw_path_error(EINVAL, "open", fmt::format("{}: invalid options: {}", path, problem));
  detail::io_request r;
  r.kind = detail::io_kind::openat;
  r.dirfd = AT_FDCWD;
  r.path = path.c_str();
  r.flags = flags;
  r.mode = opts.mode();
  int rc = co_await detail::io_awaitable(r, "open");
  if (rc < 0) throw_path_error(-rc, "open", path);
  co_return file(detail::fd(rc), std::move(path));
}

task<void> file::read_exact_at(void* data, std::size_t n, std::uint64_t offset) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = co_await read_at(p + got, n - got, offset + got);
    if (k == 0)
      throw unexpected_eof(fmt::format("read_exact {}: the file ended after {} of {} bytes", path_, got, n), got, n);
    got += k;
  }
}

task<void> file::write_all_at(const void* data, std::size_t n, std::uint64_t offset) {
  auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < n) {
    std::size_t k = co_await write_at(p + done, n - done, offset + done);
    if (k == 0) detail::throw_fd_error(EIO, "write_all: no bytes accepted by", path_, fd_.get());
    done += k;
  }
}

task<void> file::read_exact(void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = co_await read(p + got, n - got);
    if (k == 0)
      throw unexpected_eof(fmt::format("read_exact {}: the file ended after {} of {} bytes", path_, got, n), got, n);
    got += k;
  }
}

task<void> file::write_all(const void* data, std::size_t n) {
  auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < n) {
    std::size_t k = co_await write(p + done, n - done);
    if (k == 0) detail::throw_fd_error(EIO, "write_all: no bytes accepted by", path_, fd_.get());
    done += k;
  }
}

task<file_metadata> file::metadata() {
  if (!fd_.valid()) detail::throw_fd_error(EBADF, "metadata", path_, -1);
  struct ::statx st {};
  detail::io_request r = statx_request(fd_.get(), "", AT_EMPTY_PATH, &st);
  int rc = co_await detail::io_awaitable(r, "statx");
  if (rc < 0) detail::throw_fd_error(-rc, "metadata", path_, fd_.get());
  co_return detail::to_metadata(st);
}

task<void> file::close() {
  if (!fd_.valid()) detail::throw_fd_error(EBADF, "close", path_, -1);
  int raw = fd_.release();
  detail::io_request r;
  r.kind = detail::io_kind::close;
  r.fd = raw;
  int rc = co_await detail::io_awaitable(r, "close");
  if (rc < 0) detail::throw_fd_error(-rc, "close", path_, raw);
}

}  // namespace corio::fs

namespace corio::detail {

namespace {
fs::file_metadata::time_point to_time(const statx_timestamp& t) noexcept {
  return fs::file_metadata::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
}

fs::file_kind kind_of(unsigned mode) noexcept {
  switch (mode & S_IFMT) {
    case S_IFREG: return fs::file_kind::regular;
    case S_IFDIR: return fs::file_kind::directory;
    case S_IFLNK: return fs::file_kind::symlink;
    case S_IFIFO: return fs::file_kind::fifo;
    case S_IFSOCK: return fs::file_kind::socket;
    case S_IFBLK: return fs::file_kind::block_device;
    case S_IFCHR: return fs::file_kind::char_device;
    default: return fs::file_kind::unknown;
  }
}
}  // namespace

fs::file_metadata to_metadata(const struct ::statx& st) noexcept {
  fs::file_metadata m;
  m.kind = kind_of(st.stx_mode);
  m.size = st.stx_size;
  m.permissions = static_cast<std::filesystem::perms>(st.stx_mode & 07777);
  m.modified = to_time(st.stx_mtime);
  m.accessed = to_time(st.stx_atime);
  m.status_changed = to_time(st.stx_ctime);
  if (st.stx_mask & STATX_BTIME) m.created = to_time(st.stx_btime);
  m.inode = st.stx_ino;
  m.links = st.stx_nlink;
  m.blocks = st.stx_blocks;
  m.block_size = st.stx_blksize;
  m.uid = st.stx_uid;
  m.gid = st.stx_gid;
  return m;
}

}  // namespace corio::detail
