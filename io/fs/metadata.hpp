#pragma once
// corio::fs::file_metadata — what statx(2) says about a file: its kind, size, permissions and
// times; and fs::metadata(path) / fs::symlink_metadata(path) to ask for it by path.
//
//   auto m = co_await fs::metadata("/etc/hosts");
//   if (m.is_file()) fmt::print("{} bytes\n", m.size);
//
// The statx runs on the reactor of the worker that awaits it (an io_uring operation, or a
// synchronous call on the worker under the epoll backend). Errors are std::system_error with
// the errno (ENOENT, EACCES, ENOTDIR, ...) and the path in the message.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"

struct statx;

namespace corio::fs {

/// What kind of file a path names (from the statx mode bits).
enum class file_kind { regular, directory, symlink, fifo, socket, block_device, char_device, unknown };

/// "regular", "directory", ...
CORIO_API const char* to_string(file_kind kind) noexcept;

/// What statx(2) reports about a file; a plain value.
struct file_metadata {
  /// The clock of the time stamps.
  using time_point = std::chrono::system_clock::time_point;

  /// Regular file, directory, symlink, ...
  file_kind kind = file_kind::unknown;
  std::uint64_t size = 0;  ///< bytes (for a symlink: the length of its target)
  std::filesystem::perms permissions = std::filesystem::perms::none;  ///< mode & 07777
  time_point modified{};                ///< last change of the contents (mtime)
  time_point accessed{};                ///< atime
  time_point status_changed{};          ///< ctime (contents, owner, permissions, links)
  std::optional<time_point> created{};  ///< birth time, where the file system records it
  /// Inode number.
  std::uint64_t inode = 0;
  std::uint64_t links = 0;   ///< hard links
  std::uint64_t blocks = 0;  ///< 512-byte blocks allocated
  /// Preferred I/O block size in bytes (st_blksize).
  std::uint32_t block_size = 0;
  ///@{
  /// Owner and group ids.
  std::uint32_t uid = 0, gid = 0;
  ///@}

  ///@{
  /// Shorthands for the kind.
  bool is_file() const noexcept { return kind == file_kind::regular; }
  bool is_directory() const noexcept { return kind == file_kind::directory; }
  bool is_symlink() const noexcept { return kind == file_kind::symlink; }
  ///@}
};

/// Metadata of the file at `path`, following symlinks. std::system_error naming the path on
/// failure (ENOENT, EACCES, ...). Cancel-safe (it changes nothing); awaited in a task.
CORIO_API task<file_metadata> metadata(std::string path);
/// Metadata of `path` itself: a symlink is described, not followed.
CORIO_API task<file_metadata> symlink_metadata(std::string path);

}  // namespace corio::fs

namespace corio::detail {
fs::file_metadata to_metadata(const struct ::statx& st) noexcept;
}  // namespace corio::detail
