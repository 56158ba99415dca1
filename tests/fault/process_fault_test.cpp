// Faults that only a separate process can take without harming the test runner: a thread
// limit (RLIMIT_NPROC) under the blocking pool, and a seccomp filter that forbids
// io_uring_setup, under which the runtime must fall back to epoll and pass the reactor fault
// suite again.

#include <doctest/doctest.h>
#include <corio/io/net.hpp>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <string>
#include <system_error>

#include "../../runtime/detail/reactor.hpp"
#include "support/process.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

constexpr const char* seccomp_env = "CORIO_FAULT_UNDER_SECCOMP";

/// Makes io_uring_setup fail with EPERM in this process and its children (what a container's
/// default seccomp profile does). Returns false if the kernel refuses the filter.
bool forbid_io_uring() {
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),  // another ABI: not ours to judge
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

/// One echo round trip over loopback TCP on a fresh runtime; true if the bytes came back.
bool echo_round_trip() {
  auto rt = test::multi();
  return rt.block_on([]() -> task<bool> {
    auto l = net::tcp_listener::bind({"127.0.0.1", 0});
    auto server = spawn([](net::tcp_listener& l) -> task<void> {
      auto s = co_await l.accept();
      char buf[64];
      std::size_t n = co_await s.read(buf, sizeof buf);
      co_await s.write_all(buf, n);
    }(l));
    auto c = co_await net::tcp_stream::connect(l.local_address());
    co_await c.write_all("ping", 4);
    char back[4];
    co_await c.read_exact(back, 4);
    co_await server;
    co_return std::string(back, 4) == "ping";
  }());
}

}  // namespace

TEST_SUITE("process_fault") {
  TEST_CASE("11. thread creation failing (RLIMIT_NPROC) in the blocking pool: an error, no orphaned task") {
    int rc = test::in_child([]() -> int {
      auto rt = runtime::builder().current_thread().build();  // no worker threads to start
      // Root is exempt from RLIMIT_NPROC: become nobody first.
      if (::getuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 77;
      rlimit saved{};
      ::getrlimit(RLIMIT_NPROC, &saved);
      rlimit none{0, saved.rlim_max};
      if (::setrlimit(RLIMIT_NPROC, &none) != 0) return 78;
      int result = rt.block_on([]() -> task<int> {
        try {
          int v = co_await spawn_blocking([] { return 1; });
          co_return v == 1 ? 10 : 11;  // a thread was started after all: the limit did not bite
        } catch (const std::system_error& e) {
          if (e.code().value() != EAGAIN) co_return 12;
        }
        co_return 0;
      }());
      if (result != 0) return result;
      if (rt.metrics().tasks_alive != 0) return 13;  // the failed spawn left no task behind
      // The limit lifted, the pool starts threads again.
      ::setrlimit(RLIMIT_NPROC, &saved);
      int again = rt.block_on([]() -> task<int> { co_return co_await spawn_blocking([] { return 42; }); }());
      return again == 42 ? 0 : 14;
    });
    if (rc == 77 || rc == 78) {
      MESSAGE("cannot drop to an unprivileged user or set RLIMIT_NPROC here; skipped");
      return;
    }
    CHECK(rc == 0);
  }

  TEST_CASE("13. io_uring forbidden (EPERM) by seccomp in a child: the epoll fallback serves the fault suite") {
    if (std::getenv(seccomp_env)) return;  // already the child
    // A fresh process image, so the backend is chosen anew under the filter.
    auto child = test::run_self_in_child({"fault_tests", "--test-suite=reactor_fault,under_seccomp"}, [] {
      if (!forbid_io_uring()) return 77;
      ::setenv(seccomp_env, "1", 1);
      ::unsetenv("CORIO_BACKEND");  // let the runtime find out for itself
      return 0;
    });
    if (child.exited_with(77)) {
      MESSAGE("the kernel refused the seccomp filter; skipped");
      return;
    }
    INFO("child output:\n", child.output);
    CHECK(child.exited_with(0));
    CHECK(child.output.find("under_seccomp: backend epoll") != std::string::npos);
  }
}

TEST_SUITE("under_seccomp") {
  TEST_CASE("13. (in the child) io_uring_setup fails with EPERM, the runtime runs on epoll and echoes") {
    if (!std::getenv(seccomp_env)) return;  // only meaningful under the filter
    REQUIRE(detail::default_backend() == detail::backend_kind::epoll);
    CHECK_THROWS_AS(detail::make_reactor(detail::backend_kind::uring, false), std::system_error);
    CHECK(echo_round_trip());
    MESSAGE("under_seccomp: backend ", std::string(detail::to_string(detail::default_backend())));
  }
}
