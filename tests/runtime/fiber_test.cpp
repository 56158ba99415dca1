// Fibers: spawn_fiber, corio::await, cancellation and unwinding, misuse, stacks, metrics.

#include <doctest/doctest.h>
#include <corio/sync/mpsc.hpp>
#include <corio/sync/notify.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../runtime/detail/sanitizers.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

task<int> square_later(int x) {
  co_await yield_now();
  co_return x * x;
}

task<int> fail_later(std::string msg) {
  co_await yield_now();
  throw std::runtime_error(msg);
}

template <class T>
task<T> joined(join_handle<T> h) {
  co_return co_await h;
}

struct flag_on_destroy {
  std::atomic<bool>* flag;
  ~flag_on_destroy() { flag->store(true); }
};

struct log_on_destroy {
  std::vector<int>* log;
  int id;
  ~log_on_destroy() { log->push_back(id); }
};

task<void> wait_with_guard(notify& n, notify& started, std::atomic<bool>& destroyed) {
  flag_on_destroy guard{&destroyed};
  started.notify_one();
  co_await n.notified();
}

// Awaiters exercising each shape of await_suspend, and failures in each step.
struct suspend_throws {
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<>) { throw std::runtime_error("suspend failed"); }
  void await_resume() const noexcept {}
};
struct resume_throws {  // await_suspend returns false: resumes at once, then await_resume throws
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<>) const noexcept { return false; }
  int await_resume() const { throw std::logic_error("resume failed"); }
};
struct void_suspend_wakes_itself {  // void await_suspend: the task is woken through its waker
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { detail::wake(detail::make_waker(h, "test awaiter")); }
  int await_resume() const noexcept { return 17; }
};

/// Runs `child` in a forked process; returns its wait status and what it wrote to stderr. The
/// child starts with the default action for fatal signals (doctest installs handlers of its
/// own), like a program that installed none.
template <class F>
std::pair<int, std::string> run_in_child(F child) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE}) ::signal(sig, SIG_DFL);
    ::close(fds[0]);
    ::dup2(fds[1], STDERR_FILENO);
    child();
    std::_Exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {status, out};
}

volatile int recursion_limit = 1 << 30;  // never reached: the recursion looks bounded to the compiler

[[gnu::noinline]] int recurse(int depth) {
  volatile char pad[512];
  pad[0] = static_cast<char>(depth);
  if (depth >= recursion_limit) return pad[0];
  return recurse(depth + 1) + pad[0];  // not a tail call
}

}  // namespace

TEST_SUITE("fiber") {
  TEST_CASE("results, references, move-only values and exceptions come out of the join handle") {
    auto rt = test::multi();
    CHECK(rt.block_on(joined(spawn_fiber(rt, [] { return 6 * 7; }))) == 42);
    CHECK(rt.block_on(joined(spawn_fiber(rt, [] { return std::string(100, 'x'); }))) == std::string(100, 'x'));
    std::atomic<bool> ran{false};
    rt.block_on(joined(spawn_fiber(rt, [&] { ran = true; })));
    CHECK(ran);
    static int target = 5;
    int& r = rt.block_on(joined(spawn_fiber(rt, []() -> int& { return target; })));
    CHECK(&r == &target);
    auto p = rt.block_on(joined(spawn_fiber(rt, [] { return std::make_unique<int>(9); })));
    CHECK(*p == 9);
    CHECK_THROWS_WITH_AS(rt.block_on(joined(spawn_fiber(rt, []() -> int { throw std::runtime_error("boom"); }))), "boom",
                         std::runtime_error);
  }

  TEST_CASE("spawn_fiber from a task and from a fiber; in_fiber tells them apart") {
    auto rt = test::multi();
    CHECK_FALSE(in_fiber());
    int v = rt.block_on([]() -> task<int> {
      CHECK_FALSE(in_fiber());
      auto h = spawn_fiber([] {
        CHECK(in_fiber());
        auto inner = spawn_fiber([] { return corio::await(square_later(3)); });
        return corio::await(inner) + 1;
      });
      co_return co_await h;
    }());
    CHECK(v == 10);
  }

  TEST_CASE("a fiber awaits tasks, join handles of tasks and of fibers, and their exceptions") {
    auto rt = test::multi();
    auto h = spawn_fiber(rt, [] {
      int a = corio::await(square_later(4));  // a task<int>, run as part of the fiber's task
      auto child = spawn(square_later(5));
      int b = corio::await(child);  // an lvalue handle: consumed
      bool twice = false;
      try {
        corio::await(child);
      } catch (const usage_error&) {
        twice = true;
      }
      auto other = spawn_fiber([] {
        corio::await(yield_now());
        return 6;
      });
      int c = corio::await(std::move(other));
      bool inner_threw = false;
      try {
        corio::await(fail_later("inner"));
      } catch (const std::runtime_error& e) {
        inner_threw = std::string(e.what()) == "inner";
      }
      auto done = spawn(square_later(1));
      while (!done.is_finished()) corio::await(yield_now());
      int d = corio::await(done);  // ready at once: no switch
      task<int> empty;
      bool empty_threw = false;
      try {
        corio::await(std::move(empty));
      } catch (const usage_error&) {
        empty_threw = true;
      }
      return a + b + c + d + (twice ? 1000 : 0) + (inner_threw ? 10000 : 0) + (empty_threw ? 100000 : 0);
    });
    CHECK(rt.block_on(joined(std::move(h))) == 16 + 25 + 6 + 1 + 111000);
  }

  TEST_CASE("every shape of await_suspend works, and failures in it or in await_resume reach the fiber") {
    auto rt = test::multi();
    auto h = spawn_fiber(rt, [] {
      int score = 0;
      try {
        corio::await(suspend_throws{});
      } catch (const std::runtime_error& e) {
        score += std::string(e.what()) == "suspend failed";
      }
      try {
        corio::await(resume_throws{});
      } catch (const std::logic_error& e) {
        score += std::string(e.what()) == "resume failed" ? 10 : 0;
      }
      score += corio::await(void_suspend_wakes_itself{}) == 17 ? 100 : 0;
      return score;
    });
    CHECK(rt.block_on(joined(std::move(h))) == 111);
  }

  TEST_CASE("fibers sleep on paused time, in deadline order, and use timeout and interval") {
    auto rt = test::paused();
    std::vector<int> order;
    auto start = rt.block_on([]() -> task<clock::time_point> { co_return now(); }());
    auto slow = spawn_fiber(rt, [&] {
      corio::await(sleep(10min));
      order.push_back(2);
      return now();
    });
    auto quick = spawn_fiber(rt, [&] {
      corio::await(sleep(1min));
      order.push_back(1);
    });
    auto timed = spawn_fiber(rt, [] {
      notify never;
      bool timed_out_ok = false;
      try {
        corio::await(timeout(5s, never.notified()));
      } catch (const timed_out&) {
        timed_out_ok = true;
      }
      int v = corio::await(timeout(5s, square_later(3)));
      interval iv(1s);
      for (int i = 0; i < 3; ++i) corio::await(iv.tick());
      return timed_out_ok ? v : -1;
    });
    auto end = rt.block_on(joined(std::move(slow)));
    rt.block_on(joined(std::move(quick)));
    CHECK(rt.block_on(joined(std::move(timed))) == 9);
    CHECK(order == std::vector<int>{1, 2});
    CHECK(end - start >= 10min);
  }

  TEST_CASE("sleeping fibers on a paused multi-thread runtime") {
    auto rt = test::paused(false);
    std::vector<join_handle<int>> hs;
    for (int i = 0; i < 50; ++i)
      hs.push_back(spawn_fiber(rt, [i] {
        corio::await(sleep(std::chrono::seconds(i % 7)));
        return i;
      }));
    int sum = rt.block_on([&]() -> task<int> {
      int s = 0;
      for (auto& h : hs) s += co_await h;
      co_return s;
    }());
    CHECK(sum == 49 * 50 / 2);
  }

  TEST_CASE("a fiber waits on a notify woken by a task and by a plain thread") {
    notify n, got;
    auto rt = test::multi();
    auto h = spawn_fiber(rt, [&] {
      corio::await(n.notified());
      got.notify_one();
      corio::await(n.notified());
      return 3;
    });
    int v = rt.block_on([&]() -> task<int> {
      n.notify_one();
      co_await got.notified();
      std::thread([&] { n.notify_one(); }).join();
      co_return co_await h;
    }());
    CHECK(v == 3);
  }

  TEST_CASE("pairs of fibers ping-pong over notify across workers") {
    auto rt = test::multi();
    struct pair_state {
      notify to_a, to_b;
      long value = 0;
    };
    const int pairs = 8;
    const long rounds = test::scaled(2'000);
    std::vector<std::unique_ptr<pair_state>> states;
    std::vector<join_handle<void>> hs;
    for (int p = 0; p < pairs; ++p) {
      states.push_back(std::make_unique<pair_state>());
      pair_state* s = states.back().get();
      hs.push_back(spawn_fiber(rt, [s, rounds] {
        for (long r = 0; r < rounds; ++r) {
          ++s->value;
          s->to_b.notify_one();
          corio::await(s->to_a.notified());
        }
      }));
      hs.push_back(spawn_fiber(rt, [s, rounds] {
        for (long r = 0; r < rounds; ++r) {
          corio::await(s->to_b.notified());
          ++s->value;
          s->to_a.notify_one();
        }
      }));
    }
    rt.block_on([&]() -> task<void> {
      for (auto& h : hs) co_await h;
    }());
    for (auto& s : states) CHECK(s->value == 2 * rounds);
  }

  TEST_CASE("fibers send and receive over an mpsc channel, with tasks on the other side") {
    auto [tx, rx] = mpsc::bounded<int>(1);
    auto rt = test::multi();
    const int n = static_cast<int>(test::scaled(5'000));
    auto producer = spawn_fiber(rt, [tx = std::move(tx), n]() mutable {
      for (int i = 1; i <= n; ++i) corio::await(tx.send(i));
    });
    auto consumer = spawn_fiber(rt, [rx = std::move(rx)]() mutable {
      long sum = 0;
      while (std::optional<int> v = corio::await(rx.recv())) sum += *v;
      return sum;  // the sender is gone with the producer fiber's callable
    });
    rt.block_on(joined(std::move(producer)));
    CHECK(rt.block_on(joined(std::move(consumer))) == long{n} * (n + 1) / 2);
  }

  TEST_CASE("10,000 fibers alive at once") {
    const long n = test::scaled(10'000);
    notify gate, all_in;
    std::atomic<long> arrived{0};
    std::vector<join_handle<long>> hs;
    auto rt = test::multi();
    hs.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i)
      hs.push_back(spawn_fiber(rt, [&, i] {
        auto g = gate.notified();  // created before counting in: notify_all cannot be missed
        if (arrived.fetch_add(1) + 1 == n) all_in.notify_one();
        corio::await(std::move(g));
        return i;
      }));
    long sum = rt.block_on([&]() -> task<long> {
      co_await all_in.notified();
      auto m = rt.metrics();
      CHECK(m.fibers_alive == static_cast<std::uint64_t>(n));
      gate.notify_all();
      long s = 0;
      for (auto& h : hs) s += co_await h;
      co_return s;
    }());
    CHECK(sum == n * (n - 1) / 2);
    auto m = rt.metrics();
    CHECK(m.fibers_started == static_cast<std::uint64_t>(n));
    CHECK(m.fibers_alive == 0);
    CHECK(detail::fiber_context::pooled_stacks() > 0);
  }

  TEST_CASE("abort of a suspended fiber unwinds its stack, innermost first, past catch (std::exception)") {
    notify never, started;
    auto rt = test::multi();
    std::vector<int> log;
    bool caught_std = false;
    bool after_wait = false;
    auto h = spawn_fiber(rt, [&] {
      log_on_destroy outer{&log, 1};
      auto inner = [&] {
        log_on_destroy g{&log, 2};
        try {
          started.notify_one();
          corio::await(never.notified());
          after_wait = true;
        } catch (const std::exception&) {
          caught_std = true;
        }
      };
      inner();
      log.push_back(99);
    });
    rt.block_on([&]() -> task<void> {
      co_await started.notified();
      h.abort();
      bool cancelled_ok = false;
      try {
        co_await h;
      } catch (const cancelled&) {
        cancelled_ok = true;
      }
      CHECK(cancelled_ok);
    }());
    CHECK(log == std::vector<int>{2, 1});
    CHECK_FALSE(caught_std);
    CHECK_FALSE(after_wait);
    // The waiter was unlinked from the notify: a notification now becomes its permit.
    never.notify_one();
    rt.block_on([&]() -> task<void> { co_await never.notified(); }());
    CHECK(rt.metrics().fibers_alive == 0);
  }

  TEST_CASE("catch (...) sees fiber_unwinding; rethrown it unwinds, swallowed every await throws it again") {
    notify never, started_a, started_b;  // one each: a notify keeps at most one permit
    std::atomic<int> seen{0};
    std::atomic<bool> second_throw{false}, destroyed{false};
    auto rt = test::multi();
    auto rethrower = spawn_fiber(rt, [&] {
      flag_on_destroy g{&destroyed};
      try {
        started_a.notify_one();
        corio::await(never.notified());
      } catch (...) {
        ++seen;
        throw;
      }
    });
    auto swallower = spawn_fiber(rt, [&]() -> int {
      try {
        started_b.notify_one();
        corio::await(never.notified());
      } catch (const fiber_unwinding& u) {
        ++seen;
        CHECK(std::string(u.what()).find("cancelled") != std::string::npos);
      }
      try {
        corio::await(yield_now());
      } catch (...) {
        second_throw = true;
      }
      return 5;  // discarded: the fiber was cancelled
    });
    rt.block_on([&]() -> task<void> {
      co_await started_a.notified();
      co_await started_b.notified();
      rethrower.abort();
      swallower.abort();
      int cancelled_count = 0;
      try {
        co_await rethrower;
      } catch (const cancelled&) {
        ++cancelled_count;
      }
      try {
        co_await swallower;
      } catch (const cancelled&) {
        ++cancelled_count;
      }
      CHECK(cancelled_count == 2);
    }());
    CHECK(seen == 2);
    CHECK(second_throw);
    CHECK(destroyed);
  }

  TEST_CASE("fiber_unwinding thrown by hand fails the fiber with corio::cancelled") {
    auto rt = test::single();
    CHECK_THROWS_AS(rt.block_on(joined(spawn_fiber(rt, [] { throw fiber_unwinding(); }))), cancelled);
  }

  TEST_CASE("abort while the fiber awaits a task, and inside timeout (a cancel hook), unwinds both") {
    notify never, started_a, started_b;
    std::atomic<bool> task_guard{false}, timeout_guard{false}, fiber_guard{false};
    auto rt = test::multi();
    auto in_task = spawn_fiber(rt, [&] {
      flag_on_destroy g{&fiber_guard};
      corio::await(wait_with_guard(never, started_a, task_guard));
    });
    auto in_timeout = spawn_fiber(rt, [&] { corio::await(timeout(1h, wait_with_guard(never, started_b, timeout_guard))); });
    rt.block_on([&]() -> task<void> {
      co_await started_a.notified();
      co_await started_b.notified();
      in_task.abort();
      in_timeout.abort();
      int cancelled_count = 0;
      try {
        co_await in_task;
      } catch (const cancelled&) {
        ++cancelled_count;
      }
      try {
        co_await in_timeout;
      } catch (const cancelled&) {
        ++cancelled_count;
      }
      CHECK(cancelled_count == 2);
    }());
    CHECK(task_guard);
    CHECK(timeout_guard);
    CHECK(fiber_guard);
  }

  TEST_CASE("shutdown unwinds fibers waiting on notify and on timers") {
    std::atomic<int> destroyed{0};
    std::atomic<bool> flags[20];
    for (auto& f : flags) f = false;
    notify never;
    {
      notify all_in;
      std::atomic<int> in{0};
      auto rt = test::multi();
      for (int i = 0; i < 20; ++i)
        spawn_fiber(rt, [&, i] {
          flag_on_destroy g{&flags[i]};
          if (++in == 20) all_in.notify_one();
          if (i % 2)
            corio::await(never.notified());
          else
            corio::await(sleep(1h));
        }).detach();
      rt.block_on([&]() -> task<void> { co_await all_in.notified(); }());
      CHECK(rt.metrics().fibers_alive == 20);
    }
    for (auto& f : flags) destroyed += f ? 1 : 0;
    CHECK(destroyed == 20);
  }

  TEST_CASE("a fiber aborted before it first runs never gets a stack") {
    auto rt = test::single();
    auto h = spawn_fiber(rt, [] { return 1; });
    h.abort();
    CHECK_THROWS_AS(rt.block_on(joined(std::move(h))), cancelled);
    CHECK(rt.metrics().fibers_started == 0);
  }

  TEST_CASE("a detached fiber's exception goes to the unhandled-exception hook") {
    std::binary_semaphore hooked{0};
    std::string what;
    auto rt = runtime::builder()
                  .worker_threads(2)
                  .on_unhandled_exception([&](std::exception_ptr e, std::uint64_t) {
                    try {
                      std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                      what = ex.what();
                    }
                    hooked.release();
                  })
                  .build();
    // The fiber fails only once its handle is gone: an exception thrown while its handle still
    // existed was the handle's to see, and is discarded with it, not reported.
    notify handle_gone;
    spawn_fiber(rt, [&handle_gone] {
      corio::await(handle_gone.notified());
      throw std::runtime_error("lost fiber");
    }).detach();
    handle_gone.notify_one();
    hooked.acquire();
    CHECK(what == "lost fiber");
  }

  TEST_CASE("await on a plain thread blocks on a runtime of its own") {
    CHECK(corio::await(square_later(7)) == 49);
    CHECK_THROWS_WITH_AS(corio::await(fail_later("plain")), "plain", std::runtime_error);
    corio::await(sleep(1ms));
    auto rt = test::multi();
    auto h = spawn_fiber(rt, [] {
      corio::await(yield_now());
      return 11;
    });
    CHECK(corio::await(h) == 11);  // an lvalue handle of another runtime's fiber, consumed
    CHECK_THROWS_AS(corio::await(h), usage_error);
    int from_thread = 0;
    std::thread([&] { from_thread = corio::await(square_later(5)); }).join();
    CHECK(from_thread == 25);
  }

  TEST_CASE("await inside a coroutine task is a usage_error, also in a task a fiber awaits") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      bool threw = false;
      try {
        corio::await(yield_now());
      } catch (const usage_error& e) {
        threw = std::string(e.what()).find("co_await") != std::string::npos;
      }
      CHECK(threw);
      co_return;
    }());
    auto misuse_inside = []() -> task<int> {
      try {
        corio::await(yield_now());
      } catch (const usage_error&) {
        co_return 1;
      }
      co_return 0;
    };
    CHECK(rt.block_on(joined(spawn_fiber(rt, [&] { return corio::await(misuse_inside()); }))) == 1);
  }

  TEST_CASE("await on a worker thread outside any task is a usage_error") {
    std::binary_semaphore done{0};
    std::atomic<int> outcome{0};
    auto rt = runtime::builder()
                  .worker_threads(1)
                  .on_unhandled_exception([&](std::exception_ptr, std::uint64_t) {
                    try {
                      corio::await(yield_now());
                      outcome = 1;
                    } catch (const usage_error&) {
                      outcome = 2;
                    }
                    done.release();
                  })
                  .build();
    notify handle_gone;  // it fails only once its handle is gone (as in the test above)
    rt.spawn([](notify& gone) -> task<int> {
        co_await gone.notified();
        co_return co_await fail_later("detached");
      }(handle_gone))
        .detach();
    handle_gone.notify_one();
    done.acquire();
    CHECK(outcome == 2);
  }

  TEST_CASE("spawn_fiber misuse: outside a runtime, bad stack sizes; block_on inside a fiber") {
    CHECK_THROWS_AS(static_cast<void>(spawn_fiber([] {})), usage_error);
    auto rt = test::single();
    CHECK_THROWS_AS(static_cast<void>(spawn_fiber(rt, [] {}, fiber_options{1024})), std::invalid_argument);
    CHECK_THROWS_AS(static_cast<void>(spawn_fiber(rt, [] {}, fiber_options{std::size_t{1} << 40})), std::invalid_argument);
    bool inner = rt.block_on([]() -> task<bool> {
      bool threw = false;
      try {
        static_cast<void>(spawn_fiber([] {}, fiber_options{0}));
      } catch (const std::invalid_argument&) {
        threw = true;
      }
      co_return threw;
    }());
    CHECK(inner);
    auto h = spawn_fiber(rt, [] {
      try {
        corio::block_on(square_later(2));
      } catch (const usage_error&) {
        return true;
      }
      return false;
    });
    CHECK(rt.block_on(joined(std::move(h))));
  }

  TEST_CASE("a fiber may await inside a catch block and in a destructor during unwinding, and move threads") {
    auto rt = test::multi();
    const int n = static_cast<int>(test::scaled(200));
    std::vector<join_handle<int>> hs;
    for (int i = 0; i < n; ++i)
      hs.push_back(spawn_fiber(rt, [i] {
        int ok = 0;
        try {
          throw std::runtime_error("mine " + std::to_string(i));
        } catch (const std::runtime_error&) {
          for (int k = 0; k < 10; ++k) corio::await(yield_now());  // others throw and catch meanwhile
          try {
            throw;
          } catch (const std::runtime_error& again) {
            ok += std::string(again.what()) == "mine " + std::to_string(i);
          }
        }
        ok += std::current_exception() == nullptr ? 10 : 0;
        int before = -1, after = -1;
        struct awaiting_guard {
          int* before;
          int* after;
          ~awaiting_guard() {
            *before = std::uncaught_exceptions();
            corio::await(yield_now());
            *after = std::uncaught_exceptions();
          }
        };
        try {
          awaiting_guard g{&before, &after};
          throw std::logic_error("unwinding");
        } catch (const std::logic_error&) {
          ok += (before == 1 && after == 1) ? 100 : 0;
        }
        ok += std::uncaught_exceptions() == 0 ? 1000 : 0;
        return ok;
      }));
    int good = rt.block_on([&]() -> task<int> {
      int g = 0;
      for (auto& h : hs) g += co_await h == 1111;
      co_return g;
    }());
    CHECK(good == n);
  }

  TEST_CASE("a larger stack_size is honoured") {
    auto rt = test::multi();
    auto h = spawn_fiber(
        rt,
        [] {
          volatile char big[600 * 1024];
          for (std::size_t i = 0; i < sizeof big; i += 4096) big[i] = static_cast<char>(i);
          corio::await(yield_now());
          return big[4096] == static_cast<char>(4096);
        },
        fiber_options{1024 * 1024});
    CHECK(rt.block_on(joined(std::move(h))));
    CHECK(detail::fiber_context::rounded_stack_size(1024 * 1024 + 1) > 1024 * 1024);
  }

  TEST_CASE("metrics count fibers, their runs, and a fiber that blocks its thread") {
    auto rt = test::multi();
    auto h = spawn_fiber(rt, [] {
      for (int i = 0; i < 5; ++i) corio::await(yield_now());
      std::this_thread::sleep_for(30ms);  // blocks the worker: what the metrics must show
      return 1;
    });
    rt.block_on(joined(std::move(h)));
    auto m = rt.metrics();
    CHECK(m.fibers_started == 1);
    CHECK(m.fibers_alive == 0);
    CHECK(m.fiber_resumes >= 6);
    CHECK(m.fiber_busy_ns >= 20'000'000u);
    CHECK(m.fiber_long_resumes >= 1);
    std::uint64_t resumes = 0;
    for (const worker_metrics& w : m.per_worker) resumes += w.fiber_resumes;
    CHECK(resumes == m.fiber_resumes);
  }

  TEST_CASE("a stack overflow hits the guard page and is reported") {
    auto [status, err] = run_in_child([] {
      auto rt = runtime::builder().current_thread().build();
      rt.block_on(joined(spawn_fiber(rt, [] { return recurse(0); }, fiber_options{64 * 1024})));
    });
    INFO("child stderr: " << err);
#if CORIO_ASAN
    // Whichever handler gets it, corio's or AddressSanitizer's, says so and the child dies.
    CHECK((WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)));
    CHECK((err.find("corio: fiber stack overflow") != std::string::npos || err.find("AddressSanitizer") != std::string::npos));
#else
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSEGV);
    CHECK(err.find("corio: fiber stack overflow") != std::string::npos);
    CHECK(err.find("64 KiB") != std::string::npos);
#endif
  }

  TEST_CASE("a segfault that is not a stack overflow is left to the default action, unreported") {
    for (int how = 0; how < 2; ++how) {
      auto [status, err] = run_in_child([how] {
        auto rt = runtime::builder().current_thread().build();
        // A stack size of its own, so a stack is mapped (and the report handler installed).
        rt.block_on(joined(spawn_fiber(rt, [] { return 1; }, fiber_options{80 * 1024})));
        if (how == 0)
          ::raise(SIGSEGV);  // sent, not a fault: raised again under the default action
        else {
          volatile std::uintptr_t unmapped = 16;  // opaque to the compiler
          *reinterpret_cast<volatile int*>(unmapped) = 1;  // a fault outside any fiber
        }
      });
      INFO("how " << how << ", child stderr: " << err);
      CHECK(WIFSIGNALED(status));
      CHECK(err.find("fiber stack overflow") == std::string::npos);
    }
  }

  TEST_CASE("destroying a fiber_context whose fiber is suspended aborts with a message") {
    auto [status, err] = run_in_child([] {
      auto* ctx = new detail::fiber_context;
      ctx->create(
          64 * 1024, [](void* p) noexcept { static_cast<detail::fiber_context*>(p)->suspend(); }, ctx);
      ctx->resume();
      delete ctx;  // its stack still holds the suspended entry function
    });
    INFO("child stderr: " << err);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT));
    CHECK(err.find("destroyed while its fiber was suspended") != std::string::npos);
  }

  TEST_CASE("a stack the kernel refuses fails the fiber with std::system_error") {
#if CORIO_ASAN || CORIO_TSAN
    MESSAGE("skipped under sanitizers: they need address space an RLIMIT_AS would deny them");
    return;
#endif
    auto [status, err] = run_in_child([] {
      auto rt = runtime::builder().current_thread().build();
      long pages = 0;
      std::ifstream("/proc/self/statm") >> pages;
      rlimit lim{};
      lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (64u << 20);
      if (::setrlimit(RLIMIT_AS, &lim) != 0) std::_Exit(3);
      try {
        rt.block_on(joined(spawn_fiber(rt, [] { return 1; }, fiber_options{512u << 20})));
      } catch (const std::system_error& e) {
        std::fputs(e.what(), stderr);
        std::_Exit(std::string(e.what()).find("fiber stack") != std::string::npos ? 42 : 4);
      }
      std::_Exit(5);
    });
    INFO("child stderr: " << err);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 42);
  }
}
