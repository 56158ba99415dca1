// Issue 17: a runtime built while descriptors are exhausted must not pin the process to epoll
// (nor to one-shot accept). The backend probe runs once per process image, so the check runs in
// a fresh one: the test re-executes this binary with only the child suite selected.

#include <doctest/doctest.h>
#include <corio/corio.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

#include "../../io/detail/multishot_accept.hpp"
#include "../../runtime/detail/reactor.hpp"
#include "../../runtime/detail/sanitizers.hpp"
#include "support/process.hpp"

using namespace corio;

namespace {

constexpr bool sanitized = CORIO_ASAN || CORIO_TSAN || CORIO_UBSAN;

constexpr const char* child_env = "CORIO_TEST_BACKEND_PROBE_CHILD";  // "<expected multishot 0/1>"

bool uring_creatable() {
  try {
    detail::make_reactor(detail::backend_kind::uring, false);
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

}  // namespace

TEST_SUITE("backend_probe") {
  TEST_CASE("a runtime built while descriptors run out does not pin later runtimes to epoll") {
    if (std::getenv(child_env)) return;
    if (sanitized) {
      // The sanitizer runtimes need descriptors of their own (/proc/self/maps, a pipe for
      // UBSan's vptr check) and fail inside the child when none is left.
      MESSAGE("built with a sanitizer, which cannot run without descriptors; skipped");
      return;
    }
    if (!uring_creatable()) {
      MESSAGE("io_uring unavailable in this process; skipped");
      return;
    }
    const bool multishot = detail::multishot_accept_supported();
    auto child = test::run_self_in_child({"unit_tests", "--test-suite=backend_probe_child"}, [multishot] {
      ::setenv(child_env, multishot ? "1" : "0", 1);
      ::unsetenv("CORIO_BACKEND");  // the process must choose for itself
      return 0;
    });
    INFO("child output:\n", child.output);
    REQUIRE(WIFEXITED(child.status));
    CHECK(WEXITSTATUS(child.status) == 0);
    CHECK(child.output.find("backend_probe_child: ran") != std::string::npos);
  }
}

TEST_SUITE("backend_probe_child") {
  TEST_CASE("(in a fresh process) EMFILE at the first runtime, then io_uring once descriptors are back") {
    const char* expect = std::getenv(child_env);
    if (!expect) return;  // only meaningful in the re-executed child
    {
      test::nofile_limit none(0);  // no descriptor can be created
      int err = 0;
      std::string what;
      try {
        auto rt = runtime::builder().current_thread().build();
      } catch (const std::system_error& e) {
        err = e.code().value();
        what = e.what();
      }
      INFO(what);
      CHECK(err == EMFILE);
      CHECK(what.find("no fallback to epoll") != std::string::npos);
      CHECK_FALSE(detail::multishot_accept_supported());  // cannot tell now: no ring, no socket
    }
    auto rt = runtime::builder().current_thread().build();
    CHECK(rt.backend_name() == "uring");
    auto multi = runtime::builder().worker_threads(2).build();
    CHECK(multi.backend_name() == "uring");
    CHECK(detail::multishot_accept_supported() == (expect[0] == '1'));
    MESSAGE("backend_probe_child: ran");
  }
}
