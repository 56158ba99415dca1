// Pipes and the standard streams (pipe.hpp, stdio.hpp).

#include "pipe.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <new>
#include <system_error>

#include "stdio.hpp"

namespace corio::detail {

void ignore_sigpipe() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) != 0) return;
    bool has_handler = (current.sa_flags & SA_SIGINFO) ? current.sa_sigaction != nullptr : current.sa_handler != SIG_DFL;
    if (has_handler) return;  // ignored already, or somebody's handler: leave it
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, nullptr);
  });
}

read_stash& stdin_stash() noexcept {
  // Never destroyed (a thread may still read stdin while the process exits), and made without
  // allocating (the first use may be a keep under an allocation failure).
  alignas(read_stash) static unsigned char storage[sizeof(read_stash)];
  static read_stash* const s = ::new (static_cast<void*>(storage)) read_stash(read_stash::shared);
  return *s;
}

}  // namespace corio::detail

namespace corio::fs {

std::pair<pipe_reader, pipe_writer> pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) throw std::system_error(errno, std::generic_category(), "pipe");
  return {pipe_reader(owned_fd(fds[0])), pipe_writer(owned_fd(fds[1]))};
}

stdio_reader stdin_stream() noexcept { return stdio_reader(STDIN_FILENO, "stdin"); }

stdio_writer stdout_stream() noexcept {
  detail::ignore_sigpipe();
  return stdio_writer(STDOUT_FILENO, "stdout");
}

stdio_writer stderr_stream() noexcept {
  detail::ignore_sigpipe();
  return stdio_writer(STDERR_FILENO, "stderr");
}

}  // namespace corio::fs
