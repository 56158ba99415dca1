#pragma once
// corio::fs directory operations (issue 18): list, create, remove, rename and copy by path,
// like Tokio's tokio::fs functions of the same names.
//
//   co_await fs::create_dir_all("out/logs");
//   for (const fs::dir_entry& e : co_await fs::read_dir("out")) fmt::print("{} {}\n", e.name, to_string(e.kind));
//   co_await fs::rename("out/a.tmp", "out/a");
//   co_await fs::remove_dir_all("out");
//
// Where they run: create_dir, remove_file, remove_dir and rename are one reactor operation
// each (IORING_OP_MKDIRAT / UNLINKAT / RENAMEAT under io_uring; under epoll, or on a kernel
// without the opcode, the system call runs at once on the worker). read_dir, copy and
// remove_dir_all, which may take many system calls, run on the runtime's blocking pool
// (spawn_blocking). create_dir_all is a sequence of create_dir.
//
// Errors are std::system_error with the errno (ENOENT, EEXIST, ENOTEMPTY, EACCES, ...) and a
// message naming the operation and the path(s): "remove_dir /tmp/x: Directory not empty".
// A path with a NUL byte is std::invalid_argument.
//
// Cancellation: each is a single step or runs to its end on its own: dropped at its
// suspension point, a reactor operation may still have taken effect (the directory created,
// the name removed), and a blocking-pool job (read_dir, copy, remove_dir_all) runs to its end
// with its result dropped. create_dir_all dropped midway leaves the parents it has created.
// Any task of a runtime may call them; the task resumes on a worker of that runtime.

#include <cstdint>
#include <string>
#include <vector>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"
#include "metadata.hpp"

namespace corio::fs {

/// One entry of a directory listing: its name (no directory part) and kind.
struct dir_entry {
  /// The entry's name within the directory (no "/").
  std::string name;
  /// The entry's kind, not following a symlink (file_kind::symlink for one).
  file_kind kind = file_kind::unknown;
  /// Equal when name and kind are.
  friend bool operator==(const dir_entry&, const dir_entry&) = default;
};

/// The entries of directory `path`, without "." and "..", in the order the file system lists
/// them (not sorted). Runs on the blocking pool.
CORIO_API task<std::vector<dir_entry>> read_dir(std::string path);

/// Creates directory `path` (its parent must exist); EEXIST if something is there already.
/// `mode` is masked by the umask.
CORIO_API task<void> create_dir(std::string path, unsigned mode = 0777);

/// Creates `path` and every missing parent; nothing to do if `path` is a directory already
/// (EEXIST if it, or a parent, exists and is not one).
CORIO_API task<void> create_dir_all(std::string path, unsigned mode = 0777);

/// Removes a file, symlink or other non-directory (EISDIR for a directory).
CORIO_API task<void> remove_file(std::string path);

/// Removes an empty directory (ENOTEMPTY otherwise).
CORIO_API task<void> remove_dir(std::string path);

/// Removes directory `path` and everything under it, without following symlinks (a symlink
/// inside is removed, not its target). ENOENT if `path` does not exist, ENOTDIR if it is not
/// a directory. Runs on the blocking pool.
CORIO_API task<void> remove_dir_all(std::string path);

/// Renames `from` to `to`, replacing `to` if it exists (as rename(2): a directory may only
/// replace an empty directory).
CORIO_API task<void> rename(std::string from, std::string to);

/// Copies the contents and permission bits of regular file `from` to `to` (created, or
/// truncated and overwritten); returns the number of bytes copied. Runs on the blocking pool.
CORIO_API task<std::uint64_t> copy(std::string from, std::string to);

}  // namespace corio::fs
