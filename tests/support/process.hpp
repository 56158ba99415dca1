#pragma once
// What the fault tests measure about this process, and ways to run a piece of a test in a
// child process (for limits and filters that must not touch the test runner itself): a forked
// function, or this test binary run again in a fresh process image.

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>
#include <system_error>
#include <vector>

namespace corio::test {

/// Threads of this process now (/proc/self/task).
inline int thread_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

/// Resident set size in bytes of process `pid` (/proc/<pid>/statm); 0 if unreadable.
inline long resident_bytes(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%ld/statm", static_cast<long>(pid));
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen(path, "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * ::sysconf(_SC_PAGESIZE);
}

/// Resident set size in bytes (/proc/self/statm).
inline long resident_bytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * ::sysconf(_SC_PAGESIZE);
}

/// Runs `f` in a forked child; returns its exit status (f's return value; 125 if it threw,
/// 126 if the child was killed). Fork before this process starts a runtime in the test.
template <class F>
int in_child(F&& f) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    int rc = 125;
    try {
      rc = f();
    } catch (...) {
    }
    ::_exit(rc);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}

/// How a child of run_self_in_child ended, and what it printed.
struct child_run {
  int status = 0;      ///< as waitpid reports it
  std::string output;  ///< its stdout and stderr, in the order written
  bool exited_with(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
};

/// Runs this test binary again, in a fresh process image, and waits for it: forks, sends the
/// child's stdout and stderr to an unlinked temporary file, calls `prepare()` in the child (set
/// its environment, install a filter: what must hold before the image starts), then execs
/// /proc/self/exe with `args` as its argv. A non-zero return of `prepare()` is the child's exit
/// status instead (it does not exec); 76 means the exec failed. Throws std::system_error if the
/// temporary file or the child cannot be made.
template <class Prepare>
child_run run_self_in_child(std::initializer_list<const char*> args, Prepare prepare) {
  std::vector<const char*> argv(args);
  argv.push_back(nullptr);
  char path[] = "/tmp/corio-test-child-XXXXXX";
  int log = ::mkostemp(path, O_CLOEXEC);
  if (log < 0) throw std::system_error(errno, std::generic_category(), "run_self_in_child: mkostemp");
  ::unlink(path);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(log);
    throw std::system_error(err, std::generic_category(), "run_self_in_child: fork");
  }
  if (pid == 0) {
    ::dup2(log, 1);  // the copies are not close-on-exec
    ::dup2(log, 2);
    if (int rc = prepare(); rc != 0) ::_exit(rc);
    ::execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
    ::_exit(76);
  }
  child_run run;
  ::waitpid(pid, &run.status, 0);
  char buf[4096];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(log, buf, sizeof buf, at);
    if (n <= 0) break;
    run.output.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  ::close(log);
  return run;
}

/// Raises RLIMIT_NOFILE to at least `want` (the hard limit too, where privileges allow);
/// returns the soft limit now.
inline rlim_t raise_nofile(rlim_t want) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) {
    rlimit up{want, std::max(want, rl.rlim_max)};
    if (::setrlimit(RLIMIT_NOFILE, &up) != 0) {
      rl.rlim_cur = std::min(want, rl.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

/// Lowers the soft RLIMIT_NOFILE for its lifetime.
struct nofile_limit {
  rlimit saved{};
  explicit nofile_limit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved);
    rlimit rl = saved;
    rl.rlim_cur = soft;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  ~nofile_limit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  nofile_limit(const nofile_limit&) = delete;
  nofile_limit& operator=(const nofile_limit&) = delete;
};

}  // namespace corio::test
