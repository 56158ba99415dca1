#pragma once
// The descriptor type of the io layer: corio::owned_fd (../owned_fd.hpp) under its internal
// name, and check(), the usual wrapper of a system call that returns -1 and sets errno.

#include "../owned_fd.hpp"

namespace corio::detail {

/// The descriptor owner every I/O type holds (its public name is corio::owned_fd).
using fd = owned_fd;

/// Throws std::system_error(errno) naming `what` if `rc` < 0; returns rc.
int check(int rc, const char* what);

}  // namespace corio::detail
