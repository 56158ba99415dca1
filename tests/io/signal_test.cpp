// corio::signal: listeners count deliveries (raise, kill from another thread), every listener
// sees every signal, recv() waits and is woken, ctrl_c()/terminate() for SIGINT/SIGTERM, a
// previous handler keeps being called, a replaced handler is reinstalled, refused signals, and
// aborting a waiting recv().
//
// doctest installs its own handlers for SIGINT and SIGTERM around every test case (and puts
// the old ones back afterwards); the tests of those two signals first reset them to SIG_DFL so
// that corio's handler does not chain to doctest's, which would report a crash.

#include <doctest/doctest.h>
#include <corio/corio.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "../../runtime/detail/sanitizers.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

void reset_to_default(int signo) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  REQUIRE(::sigaction(signo, &dfl, nullptr) == 0);
}

/// Sends `signo` from a new plain thread: process-directed (kill), so the kernel picks the
/// thread that runs the handler. Under ThreadSanitizer the signal is aimed at the sending
/// thread instead: TSan holds a signal back while its thread is blocked outside TSan's
/// interceptors (the main thread waiting in block_on, a worker in io_uring_enter) and would
/// deliver it only when that thread next calls into TSan, i.e. never.
void send_from_thread(int signo) {
  std::thread([signo] {
#if CORIO_TSAN
    ::pthread_kill(::pthread_self(), signo);
#else
    ::kill(::getpid(), signo);
#endif
  }).join();
}

std::atomic<int> own_handler_calls{0};
extern "C" void own_handler(int) { own_handler_calls.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

TEST_SUITE("signal") {
  TEST_CASE("a listener counts every signal raised since it was created") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      signal::listener first(SIGUSR1);
      ::raise(SIGUSR1);  // before `l` exists: not counted by it
      signal::listener l(SIGUSR1);
      CHECK(first.pending() == 1);
      CHECK(l.signo() == SIGUSR1);
      CHECK(l.pending() == 0);
      CHECK_FALSE(l.try_recv());
      for (int i = 0; i < 3; ++i) ::raise(SIGUSR1);
      CHECK(l.pending() == 3);
      for (int i = 0; i < 3; ++i) co_await l.recv();  // all three at once, no waiting
      CHECK(l.pending() == 0);
      CHECK_FALSE(l.try_recv());
      ::raise(SIGUSR1);
      CHECK(l.try_recv());
      CHECK_FALSE(l.try_recv());
    }());
  }

  TEST_CASE("every listener sees every signal; a copy counts on its own") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      signal::listener a(SIGUSR2), b(SIGUSR2);
      ::raise(SIGUSR2);
      signal::listener late(SIGUSR2);
      CHECK(a.pending() == 1);
      CHECK(b.pending() == 1);
      CHECK(late.pending() == 0);
      co_await a.recv();
      signal::listener copy = b;
      co_await b.recv();
      CHECK(b.pending() == 0);
      CHECK(copy.pending() == 1);
      CHECK(a.pending() == 0);
    }());
  }

  TEST_CASE("recv waits and is woken by a signal sent from another thread") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      signal::listener l(SIGUSR1);
      constexpr int rounds = 20;
      auto waiter = spawn([](signal::listener l) -> task<int> {
        int got = 0;
        for (int i = 0; i < rounds; ++i) {
          co_await l.recv();
          ++got;
        }
        co_return got;
      }(l));
      for (int i = 0; i < rounds; ++i) {
        for (int k = 0; k < 5; ++k) co_await yield_now();  // usually the waiter is parked by now
        send_from_thread(SIGUSR1);
      }
      int got = co_await waiter;
      CHECK(got == rounds);
      CHECK(l.pending() == rounds);  // the copy in the waiter received them, not this one
    }());
  }

  TEST_CASE("many tasks wait for one signal") {
    auto rt = test::multi(4);
    rt.block_on([]() -> task<void> {
      std::vector<join_handle<void>> hs;
      std::vector<signal::listener> ls;
      for (int i = 0; i < 32; ++i) ls.emplace_back(SIGUSR2);
      for (auto& l : ls) hs.push_back(spawn([](signal::listener& l) -> task<void> { co_await l.recv(); }(l)));
      for (int k = 0; k < 10; ++k) co_await yield_now();
      send_from_thread(SIGUSR2);
      for (auto& h : hs) co_await h;
    }());
  }

  TEST_CASE("ctrl_c: SIGINT no longer kills the process and wakes the task") {
    reset_to_default(SIGINT);
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto c = signal::ctrl_c();  // counting starts here, before the first await
      ::raise(SIGINT);
      co_await c;
      auto again = spawn(signal::ctrl_c());
      for (int k = 0; k < 5; ++k) co_await yield_now();
      send_from_thread(SIGINT);
      co_await again;
    }());
  }

  TEST_CASE("terminate: SIGTERM") {
    reset_to_default(SIGTERM);
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto t = signal::terminate();
      ::kill(::getpid(), SIGTERM);
      co_await t;
    }());
  }

  TEST_CASE("a handler installed before keeps being called; a replaced handler is reinstalled") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      // SIGWINCH: unused by the rest of the tests, and harmless by default.
      struct sigaction own {};
      own.sa_handler = &own_handler;
      sigemptyset(&own.sa_mask);
      REQUIRE(::sigaction(SIGWINCH, &own, nullptr) == 0);
      own_handler_calls = 0;
      signal::listener l(SIGWINCH);
      ::raise(SIGWINCH);
      CHECK(own_handler_calls == 1);  // chained
      CHECK(l.pending() == 1);

      // Somebody replaces corio's handler: the listener stops counting...
      REQUIRE(::sigaction(SIGWINCH, &own, nullptr) == 0);
      ::raise(SIGWINCH);
      CHECK(own_handler_calls == 2);
      CHECK(l.pending() == 1);
      // ...until a new listener puts it back, chaining to the newcomer.
      signal::listener l2(SIGWINCH);
      ::raise(SIGWINCH);
      CHECK(own_handler_calls == 3);
      CHECK(l.pending() == 2);
      CHECK(l2.pending() == 1);
      co_await l2.recv();
    }());
  }

  TEST_CASE("signals that cannot or must not be caught are refused") {
    for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, 0, -1, 65, 1000})
      CHECK_THROWS_AS(signal::listener{s}, std::invalid_argument);
    // Reserved by the C library for its threads: sigaction says EINVAL.
    CHECK_THROWS_AS(signal::listener{32}, std::system_error);
  }

  TEST_CASE("aborting a task waiting in recv consumes nothing") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      signal::listener l(SIGUSR1);
      auto h = spawn([](signal::listener& l) -> task<void> { co_await l.recv(); }(l));
      for (int k = 0; k < 10; ++k) co_await yield_now();
      h.abort();
      CHECK_THROWS_AS(co_await h, cancelled);
      ::raise(SIGUSR1);
      CHECK(l.pending() == 1);
      co_await l.recv();
    }());
  }

  TEST_CASE("a recv task made outside a runtime runs inside one") {
    signal::listener l(SIGUSR1);
    auto t = l.recv();  // lazy: nothing runs
    auto rt = test::single();
    ::raise(SIGUSR1);
    rt.block_on(std::move(t));  // runs inside: fine
    CHECK(l.pending() == 0);
  }

  TEST_CASE("dump_tasks_on: every signal hands the runtime's task dump to the callback") {
    auto rt = test::multi();
    std::atomic<int> dumps{0};
    std::atomic<bool> saw_sleeper{false};
    rt.block_on([&]() -> task<void> {
      auto sleeper = spawn([]() -> task<void> { co_await sleep(std::chrono::hours(1)); }());
      const std::uint64_t id = sleeper.id();
      auto dumper = spawn(signal::dump_tasks_on(SIGUSR2, [&](const task_dump& d) {
        for (const task_info& t : d.tasks)
          if (t.id == id && t.status == task_status::waiting && t.waiting_on == "corio::sleep") saw_sleeper = true;
        ++dumps;
      }));
      // Each round: one signal, then wait (bounded) for its dump; the sleeper shows up waiting.
      for (int round = 1; round <= 50 && !saw_sleeper; ++round) {
        send_from_thread(SIGUSR2);
        for (int i = 0; i < 20000 && dumps.load() < round; ++i) co_await sleep(std::chrono::milliseconds(1));
        REQUIRE(dumps.load() == round);
      }
      CHECK(saw_sleeper.load());
      dumper.abort();
      sleeper.abort();
    }());
    CHECK_THROWS_AS((void)signal::dump_tasks_on(SIGKILL), std::invalid_argument);
  }
}
