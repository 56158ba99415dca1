#pragma once
// Counting this process's open descriptors (/proc/self/fd), to show that nothing leaks; and
// pointing a standard descriptor somewhere else for the length of a test.

#include <doctest/doctest.h>
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace corio::test {

inline int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

/// Makes `target_fd` (0, 1 or 2) a duplicate of `from` until the end of the scope, then
/// restores it. Flushes the C and C++ streams first.
struct redirect {
  int target, saved;
  redirect(int target_fd, int from) : target(target_fd), saved(::dup(target_fd)) {
    std::cout.flush();
    std::fflush(nullptr);
    REQUIRE(::dup2(from, target) == target);
  }
  redirect(const redirect&) = delete;
  redirect& operator=(const redirect&) = delete;
  ~redirect() {
    ::dup2(saved, target);
    ::close(saved);
  }
};

}  // namespace corio::test
