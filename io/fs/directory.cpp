// corio::fs directory operations (directory.hpp): the single-step ones through the reactor
// (io_kind::mkdirat, unlinkat, renameat), the multi-step ones on the blocking pool.

#include "directory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "../../runtime/blocking.hpp"
#include "../detail/io_awaitable.hpp"

namespace corio::fs {

namespace {

[[noreturn]] void throw_path_error(int err, const char* what, const std::string& path) {
  throw std::system_error(err, std::generic_category(), fmt::format("{} {}", what, path));
}

/// A path with a NUL would reach the kernel shortened.
void check_path(const char* what, const std::string& path) {
  if (path.find('\0') != std::string::npos)
    throw std::invalid_argument(fmt::format("corio::fs::{}: path '{}' contains a NUL byte", what, path.substr(0, path.find('\0'))));
}

file_kind kind_of_mode(mode_t m) noexcept {
  switch (m & S_IFMT) {
    case S_IFREG: return file_kind::regular;
    case S_IFDIR: return file_kind::directory;
    case S_IFLNK: return file_kind::symlink;
    case S_IFIFO: return file_kind::fifo;
    case S_IFSOCK: return file_kind::socket;
    case S_IFBLK: return file_kind::block_device;
    case S_IFCHR: return file_kind::char_device;
    default: return file_kind::unknown;
  }
}

file_kind kind_of_dirent(unsigned char t) noexcept {
  switch (t) {
    case DT_REG: return file_kind::regular;
    case DT_DIR: return file_kind::directory;
    case DT_LNK: return file_kind::symlink;
    case DT_FIFO: return file_kind::fifo;
    case DT_SOCK: return file_kind::socket;
    case DT_BLK: return file_kind::block_device;
    case DT_CHR: return file_kind::char_device;
    default: return file_kind::unknown;
  }
}

std::vector<dir_entry> list_dir(const std::string& path) {
  int dfd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw_path_error(errno, "read_dir", path);
  DIR* d = ::fdopendir(dfd);
  if (!d) {
    int e = errno;
    ::close(dfd);
    throw_path_error(e, "read_dir", path);
  }
  std::vector<dir_entry> out;
  try {
    for (;;) {
      errno = 0;
      dirent* e = ::readdir(d);
      if (!e) {
        if (errno != 0) throw_path_error(errno, "read_dir", path);
        break;
      }
      if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) continue;
      file_kind k = kind_of_dirent(e->d_type);
      if (e->d_type == DT_UNKNOWN) {  // file systems that do not fill d_type
        struct ::stat st {};
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) k = kind_of_mode(st.st_mode);
      }
      out.push_back(dir_entry{e->d_name, k});
    }
  } catch (...) {
    ::closedir(d);
    throw;
  }
  ::closedir(d);
  return out;
}

void remove_tree(const std::string& path) {
  struct ::stat st {};
  if (::lstat(path.c_str(), &st) < 0) throw_path_error(errno, "remove_dir_all", path);
  if (!S_ISDIR(st.st_mode)) throw_path_error(ENOTDIR, "remove_dir_all", path);
  std::error_code ec;
  std::filesystem::remove_all(path, ec);  // does not follow symlinks
  if (ec) throw std::system_error(ec, fmt::format("remove_dir_all {}", path));
}

std::uint64_t copy_file(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) throw std::system_error(ec, fmt::format("copy {} -> {}", from, to));
  std::uintmax_t n = std::filesystem::file_size(to, ec);
  if (ec) throw std::system_error(ec, fmt::format("copy {} -> {}", from, to));
  return n;
}

/// A request on `path`, relative to the working directory (mkdirat, unlinkat, renameat); it
/// points into `path`, which must outlive it.
detail::io_request at_cwd(detail::io_kind kind, const std::string& path) {
  detail::io_request r;
  r.kind = kind;
  r.dirfd = AT_FDCWD;
  r.path = path.c_str();
  return r;
}

/// create_dir, remove_file and remove_dir: one request on `path` (mkdirat with `mode`, unlinkat
/// with `flags`); a failure throws the path error named after `what`.
task<void> one_path_op(const char* what, detail::io_kind kind, std::string path, unsigned mode, int flags) {
  check_path(what, path);
  detail::io_request r = at_cwd(kind, path);
  r.mode = mode;
  r.flags = flags;
  int rc = co_await detail::io_awaitable(r, what);
  if (rc < 0) throw_path_error(-rc, what, path);
}

}  // namespace

task<std::vector<dir_entry>> read_dir(std::string path) {
  check_path("read_dir", path);
  auto job = [path] { return list_dir(path); };
  co_return co_await spawn_blocking(std::move(job));
}

task<void> create_dir(std::string path, unsigned mode) {
  return one_path_op("create_dir", detail::io_kind::mkdirat, std::move(path), mode, 0);
}

task<void> create_dir_all(std::string path, unsigned mode) {
  check_path("create_dir_all", path);
  // Strip trailing slashes ("a/b/" is "a/b"), keeping "/" itself.
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty()) throw_path_error(ENOENT, "create_dir_all", path);
  detail::io_request r = at_cwd(detail::io_kind::mkdirat, path);
  r.mode = mode;
  int rc = co_await detail::io_awaitable(r, "create_dir_all");
  if (rc == -ENOENT) {  // a parent is missing: create it, then try again
    std::size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash != 0) {
      co_await create_dir_all(path.substr(0, slash), mode);
      rc = co_await detail::io_awaitable(r, "create_dir_all");
    }
  }
  if (rc == -EEXIST) {  // fine if it is a directory (perhaps made by someone else meanwhile)
    file_metadata m = co_await metadata(path);
    if (m.is_directory()) co_return;
  }
  if (rc < 0) throw_path_error(-rc, "create_dir_all", path);
}

task<void> remove_file(std::string path) {
  return one_path_op("remove_file", detail::io_kind::unlinkat, std::move(path), 0, 0);
}

task<void> remove_dir(std::string path) {
  return one_path_op("remove_dir", detail::io_kind::unlinkat, std::move(path), 0, AT_REMOVEDIR);
}

task<void> remove_dir_all(std::string path) {
  check_path("remove_dir_all", path);
  auto job = [path] { remove_tree(path); };
  co_await spawn_blocking(std::move(job));
}

task<void> rename(std::string from, std::string to) {
  check_path("rename", from);
  check_path("rename", to);
  detail::io_request r = at_cwd(detail::io_kind::renameat, from);
  r.path2 = to.c_str();
  r.flags = 0;
  int rc = co_await detail::io_awaitable(r, "rename");
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), fmt::format("rename {} -> {}", from, to));
}

task<std::uint64_t> copy(std::string from, std::string to) {
  check_path("copy", from);
  check_path("copy", to);
  auto job = [from, to] { return copy_file(from, to); };
  co_return co_await spawn_blocking(std::move(job));
}

}  // namespace corio::fs
