// corio::signal: counting handler, eventfd, helper thread, one notify per signal.
//
// Protocol:
//   handler (any thread, async-signal context)
//     counts[sig] += 1 (release); write(wake_fd, 1); call the previous handler, if any
//   helper thread (blocks every signal)
//     loop: read(wake_fd); for every installed signal whose count moved since the last look,
//     notify_all() its notify
//   listener::recv (a task)
//     loop: w = notify.notified(); if count > seen: ++seen, done; else co_await w
// recv creates the notified() awaitable before reading the count, so a notify_all between the
// read and the await is not missed (notify remembers it by generation); the count is bumped
// before the eventfd is written, so the helper thread's notify_all comes after the count moved.
//
// Installation (listener's constructor) runs under `install_mutex`: the eventfd and the helper
// thread exist before the first handler is installed; the previous action is read and stored
// before the handler that may chain to it goes in. Nothing is ever uninstalled: the registry
// lives until the process exits (it is leaked on purpose: the handler may run during exit).

#include "signal.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "../runtime/detail/scheduler.hpp"
#include "../runtime/runtime.hpp"
#include "../sync/notify.hpp"

namespace corio::signal {

namespace {

constexpr int max_signo = _NSIG - 1;  // signals are 1 .. _NSIG-1
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the signal handler needs lock-free counters");
static_assert(std::atomic<int>::is_always_lock_free);

struct slot {
  std::atomic<std::uint64_t> count{0};
  std::atomic<bool> installed{false};
  struct sigaction previous {};  // written under install_mutex before our handler goes in
};

// Constant-initialised, so the handler may touch them at any time.
slot slots[_NSIG];
std::atomic<int> wake_fd{-1};

void on_signal(int signo, siginfo_t* info, void* context);

bool is_ours(const struct sigaction& a) noexcept {
  return (a.sa_flags & SA_SIGINFO) && a.sa_sigaction == &on_signal;
}

void on_signal(int signo, siginfo_t* info, void* context) {
  int saved_errno = errno;
  if (signo > 0 && signo <= max_signo) {
    slot& s = slots[signo];
    s.count.fetch_add(1, std::memory_order_release);
    int fd = wake_fd.load(std::memory_order_relaxed);
    if (fd >= 0) {
      std::uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
    }
    const struct sigaction& prev = s.previous;
    if (prev.sa_flags & SA_SIGINFO) {
      if (prev.sa_sigaction) prev.sa_sigaction(signo, info, context);
    } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
      prev.sa_handler(signo);
    }
  }
  errno = saved_errno;
}

struct registry {
  std::mutex install_mutex;
  bool thread_started = false;
  std::array<notify, _NSIG> notifies;
};

registry& reg() {
  static registry* r = new registry;  // never destroyed (see above)
  return *r;
}

void helper_thread(int fd) {
  registry& r = reg();
  std::array<std::uint64_t, _NSIG> last{};
  for (;;) {
    std::uint64_t v;
    ssize_t n = ::read(fd, &v, sizeof v);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;  // the eventfd is gone: nothing more will ever arrive
    }
    for (int s = 1; s <= max_signo; ++s) {
      if (!slots[s].installed.load(std::memory_order_acquire)) continue;
      std::uint64_t c = slots[s].count.load(std::memory_order_acquire);
      if (c == last[s]) continue;
      last[s] = c;
      try {
        r.notifies[s].notify_all();
      } catch (...) {  // out of memory collecting wakers: the next signal retries
        last[s] = 0;
      }
    }
  }
}

/// Creates the eventfd and starts the helper thread (with every signal blocked). Under the lock.
void start_helper_locked(registry& r) {
  if (r.thread_started) return;
  int fd = ::eventfd(0, EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "corio::signal: eventfd");
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    std::thread(helper_thread, fd).detach();
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(fd);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  wake_fd.store(fd, std::memory_order_release);
  r.thread_started = true;
}

void install(int signo) {
  if (signo < 1 || signo > max_signo)
    throw std::invalid_argument(fmt::format("corio::signal::listener: {} is not a signal number", signo));
  switch (signo) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
      throw std::invalid_argument(
          fmt::format("corio::signal::listener: signal {} ({}) cannot be listened for", signo, ::strsignal(signo)));
    default:
      break;
  }
  registry& r = reg();
  std::lock_guard lock(r.install_mutex);
  start_helper_locked(r);
  slot& s = slots[signo];
  struct sigaction current {};
  if (::sigaction(signo, nullptr, &current) != 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("corio::signal: sigaction({})", signo));
  if (is_ours(current)) return;  // installed, and still in place
  // Not ours (first listener, or somebody replaced the handler since): chain to what is there.
  // `previous` may be read by a handler running now on another thread only once ours is in,
  // and ours is not in at this point.
  s.previous = current;
  struct sigaction ours {};
  ours.sa_sigaction = &on_signal;
  ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  if (::sigaction(signo, &ours, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("corio::signal: sigaction({}, {})", signo, ::strsignal(signo)));
  s.installed.store(true, std::memory_order_release);
}

task<void> receive_one(listener l) { co_await l.recv(); }

}  // namespace

listener::listener(int signo) : signo_(signo) {
  install(signo);
  seen_ = slots[signo].count.load(std::memory_order_acquire);
}

task<void> listener::recv() {
  notify& n = reg().notifies[static_cast<std::size_t>(signo_)];
  for (;;) {
    notified_awaitable woken = n.notified();
    if (try_recv()) co_return;
    co_await woken;
  }
}

bool listener::try_recv() noexcept {
  if (slots[signo_].count.load(std::memory_order_acquire) == seen_) return false;
  ++seen_;
  return true;
}

std::uint64_t listener::pending() const noexcept {
  return slots[signo_].count.load(std::memory_order_acquire) - seen_;
}

task<void> ctrl_c() { return receive_one(listener(SIGINT)); }

task<void> terminate() { return receive_one(listener(SIGTERM)); }

task<void> dump_tasks_on(int signo, std::function<void(const task_dump&)> out) {
  listener l(signo);  // counting from the call, before the first await
  return [](listener l, std::function<void(const task_dump&)> out) -> task<void> {
    detail::scheduler& s = detail::current_scheduler("corio::signal::dump_tasks_on");
    for (;;) {
      co_await l.recv();
      task_dump d = s.services().dump_tasks(s, std::chrono::seconds(1));
      if (out)
        out(d);
      else
        fmt::print(stderr, "corio: task dump (signal {}):\n{}", l.signo(), d.to_string());
    }
  }(l, std::move(out));
}

}  // namespace corio::signal
