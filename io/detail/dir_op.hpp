#pragma once
// The directory operations of the reactor interface (io_kind::mkdirat, unlinkat, renameat) as
// plain system calls: what the epoll backend runs, and what the io_uring backend runs on a
// kernel without the opcode (MKDIRAT: 5.15; UNLINKAT, RENAMEAT: 5.11). They are metadata
// operations on a local file system, brief enough to run on the worker at once, as the epoll
// backend already does for openat and statx.

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "../../runtime/detail/reactor.hpp"

namespace corio::detail {

/// Runs a directory operation now: 0, or -errno.
inline int run_dir_op(const io_request& r) noexcept {
  int rc = -1;
  switch (r.kind) {
    case io_kind::mkdirat:
      rc = ::mkdirat(r.dirfd, r.path, static_cast<mode_t>(r.mode));
      break;
    case io_kind::unlinkat:
      rc = ::unlinkat(r.dirfd, r.path, r.flags);
      break;
    case io_kind::renameat:
      rc = ::renameat2(r.dirfd, r.path, r.dirfd, r.path2, static_cast<unsigned>(r.flags));
      break;
    default:
      return -EINVAL;
  }
  return rc < 0 ? -errno : rc;
}

}  // namespace corio::detail
