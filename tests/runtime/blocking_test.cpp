// spawn_blocking: results and exceptions, the pool limit and its queue, idle threads retiring,
// abort, cancellation of the awaiting task, shutdown (waiting, timing out, cancelling queued
// jobs), thread-creation failure, misuse.

#include <doctest/doctest.h>

#include <corio/runtime/detail/scheduler.hpp>  // rt.native().is_shutdown()

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

/// A gate plain threads wait at until the test opens it.
struct gate {
  std::atomic<bool> open_{false};
  void open() {
    open_.store(true);
    open_.notify_all();
  }
  void wait() const { open_.wait(false); }
};

/// Waits (bounded) until pred() holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::seconds bound = 30s) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

runtime with_blocking(unsigned max_threads, std::chrono::nanoseconds keep_alive = 10s) {
  return runtime::builder().worker_threads(2).max_blocking_threads(max_threads).thread_keep_alive(keep_alive).build();
}

}  // namespace

TEST_SUITE("blocking") {
  TEST_CASE("results, void, move-only values and exceptions come back through the handle") {
    auto rt = test::multi();
    int v = rt.block_on([]() -> task<int> { co_return co_await spawn_blocking([] { return 6 * 7; }); }());
    CHECK(v == 42);
    bool ran = false;
    rt.block_on([&]() -> task<void> { co_await spawn_blocking([&ran] { ran = true; }); }());
    CHECK(ran);
    auto p = rt.block_on([]() -> task<std::unique_ptr<int>> {
      co_return co_await spawn_blocking([] { return std::make_unique<int>(5); });
    }());
    CHECK(*p == 5);
    CHECK_THROWS_WITH_AS(rt.block_on([]() -> task<int> {
                           co_return co_await spawn_blocking([]() -> int { throw std::runtime_error("blocked"); });
                         }()),
                         "blocked", std::runtime_error);
    // from outside any task, through the runtime
    auto h = spawn_blocking(rt, [] { return std::string("outside"); });
    CHECK(h.valid());
    CHECK(h.id() != 0);
    CHECK(rt.block_on([](blocking_handle<std::string> h) -> task<std::string> { co_return co_await h; }(std::move(h))) ==
          "outside");
    CHECK(rt.metrics().blocking_threads >= 1);
  }

  TEST_CASE("spawn_blocking(f, args...) stores f and its arguments and calls them on the pool") {
    auto rt = test::multi();
    // A function and arguments, no lambda: the spelling that avoids g++-12's double
    // destruction of a capturing lambda temporary inside co_await.
    auto length = [](std::string s, std::size_t extra) { return s.size() + extra; };
    std::size_t n = rt.block_on([&]() -> task<std::size_t> {
      std::string text = "hello";
      std::size_t r = co_await spawn_blocking(length, text, std::size_t{2});
      co_return r;
    }());
    CHECK(n == 7);
    // Arguments are moved into the job and into the call: move-only ones work, and the
    // caller's objects are copied, not borrowed.
    auto deref = [](std::unique_ptr<int> p, int add) { return *p + add; };
    int v = rt.block_on([&]() -> task<int> {
      auto p = std::make_unique<int>(40);
      int r = co_await spawn_blocking(deref, std::move(p), 2);
      co_return r;
    }());
    CHECK(v == 42);
    // Each stored object is destroyed exactly once, after the call.
    test::counted::reset();
    rt.block_on([&]() -> task<void> {
      auto take = [](test::counted c) { return c.value; };
      int r = co_await spawn_blocking(take, test::counted(9));
      CHECK(r == 9);
    }());
    CHECK(test::counted::alive() == 0);
    // std::ref shares an object; a member function pointer is called on its object.
    std::vector<int> seen;
    rt.block_on([&]() -> task<void> {
      auto fill = [](std::vector<int>& out, int x) { out.push_back(x); };
      co_await spawn_blocking(fill, std::ref(seen), 3);
      auto h = spawn_blocking(rt, &std::vector<int>::size, std::cref(seen));
      std::size_t size = co_await h;
      CHECK(size == 1);
    }());
    CHECK(seen == std::vector<int>{3});
    // f's exception comes back through the handle.
    auto fail = [](int code) -> int { throw std::runtime_error("code " + std::to_string(code)); };
    CHECK_THROWS_WITH_AS(rt.block_on([&]() -> task<int> {
      int r = co_await spawn_blocking(fail, 5);
      co_return r;
    }()), "code 5", std::runtime_error);
  }

  TEST_CASE("more jobs than threads: the pool stays at its limit and runs every queued job") {
    auto rt = with_blocking(3);
    gate g;
    std::atomic<int> running{0}, max_running{0};
    const int jobs = 40;
    std::vector<blocking_handle<int>> hs;
    for (int i = 0; i < jobs; ++i)
      hs.push_back(spawn_blocking(rt, [&, i] {
        int now = ++running;
        int m = max_running.load();
        while (now > m && !max_running.compare_exchange_weak(m, now)) {
        }
        g.wait();
        --running;
        return i;
      }));
    REQUIRE(eventually([&] { return running.load() == 3; }));
    CHECK(rt.metrics().blocking_threads == 3);
    g.open();
    int sum = rt.block_on([](std::vector<blocking_handle<int>>& hs) -> task<int> {
      int s = 0;
      for (auto& h : hs) s += co_await h;
      co_return s;
    }(hs));
    CHECK(sum == jobs * (jobs - 1) / 2);
    CHECK(max_running == 3);
  }

  TEST_CASE("many short jobs awaited 16 at a time") {
    auto rt = test::multi();
    const int n = static_cast<int>(test::scaled(20'000));
    long long total = rt.block_on([](int n) -> task<long long> {
      std::vector<blocking_handle<int>> window;
      long long s = 0;
      int next = 0;
      for (; next < 16 && next < n; ++next) window.push_back(spawn_blocking([next] { return next; }));
      for (std::size_t i = 0; i < window.size(); ++i) {
        s += co_await window[i];
        if (next < n) window.push_back(spawn_blocking([v = next++] { return v; }));
      }
      co_return s;
    }(n));
    CHECK(total == static_cast<long long>(n) * (n - 1) / 2);
  }

  TEST_CASE("idle threads retire after the keep-alive") {
    auto rt = with_blocking(8, 1ms);
    rt.block_on([]() -> task<void> {
      std::vector<blocking_handle<void>> hs;
      for (int i = 0; i < 4; ++i) hs.push_back(spawn_blocking([] {}));
      for (auto& h : hs) co_await h;
    }());
    CHECK(eventually([&] { return rt.metrics().blocking_threads == 0; }));
    CHECK(rt.block_on([]() -> task<int> { co_return co_await spawn_blocking([] { return 1; }); }()) == 1);
  }

  TEST_CASE("jobs handed to threads that are retiring at that moment all run") {
    // A keep-alive of 1 ns: every thread gives up as soon as its spin ends, so submits keep
    // racing with threads leaving the idle list (taken just in time, or retired and replaced).
    auto rt = with_blocking(4, 1ns);
    const int n = static_cast<int>(test::scaled(3'000));
    long long total = rt.block_on([](int n) -> task<long long> {
      long long s = 0;
      for (int i = 0; i < n; ++i) {
        auto a = spawn_blocking([i] { return i; });
        if (i % 3 == 0) co_await sleep(std::chrono::microseconds(i % 40));  // let threads go idle
        s += co_await a;
      }
      co_return s;
    }(n));
    CHECK(total == static_cast<long long>(n) * (n - 1) / 2);
    CHECK(rt.metrics().blocking_threads <= 4);
  }

  TEST_CASE("abort: a queued job never runs; a running one is not interrupted") {
    auto rt = with_blocking(1);
    gate g;
    std::atomic<bool> first_started{false}, second_ran{false};
    auto first = spawn_blocking(rt, [&] {
      first_started = true;
      g.wait();
      return 1;
    });
    REQUIRE(eventually([&] { return first_started.load(); }));
    auto second = spawn_blocking(rt, [&] {
      second_ran = true;
      return 2;
    });
    second.abort();
    CHECK(second.is_finished());
    CHECK_THROWS_AS(second.take_result(), cancelled);
    first.abort();  // running: no effect
    CHECK(!first.is_finished());
    g.open();
    CHECK(rt.block_on([](blocking_handle<int> h) -> task<int> { co_return co_await h; }(std::move(first))) == 1);
    CHECK(!second_ran);
  }

  TEST_CASE("the awaiting task is aborted: the job still completes, its result is dropped") {
    test::counted::reset();
    auto rt = test::multi();
    gate g;
    std::atomic<bool> started{false}, finished{false};
    auto h = rt.spawn([](gate& g, std::atomic<bool>& started, std::atomic<bool>& finished) -> task<int> {
      auto r = co_await spawn_blocking([&g, &started, &finished] {
        started = true;
        g.wait();
        finished = true;
        return test::counted(7);
      });
      co_return r.value;
    }(g, started, finished));
    REQUIRE(eventually([&] { return started.load(); }));
    h.abort();
    CHECK_THROWS_AS(rt.block_on([](join_handle<int> h) -> task<int> { co_return co_await h; }(std::move(h))), cancelled);
    CHECK(!finished);
    g.open();
    CHECK(eventually([&] { return finished.load() && test::counted::alive() == 0; }));
  }

  TEST_CASE("a detached job's exception goes to the unhandled-exception hook") {
    std::atomic<int> reported{0};
    auto rt = runtime::builder()
                  .worker_threads(1)
                  .on_unhandled_exception([&](std::exception_ptr e, std::uint64_t) {
                    try {
                      std::rethrow_exception(e);
                    } catch (const std::runtime_error&) {
                      reported++;
                    }
                  })
                  .build();
    gate g;
    spawn_blocking(rt, [&]() -> int {
      g.wait();
      throw std::runtime_error("unobserved");
    }).detach();
    g.open();
    CHECK(eventually([&] { return reported.load() == 1; }));
  }

  TEST_CASE("shutdown waits for running jobs and cancels queued ones") {
    std::atomic<bool> started{false}, job_done{false}, shutdown_returned{false}, queued_ran{false};
    gate g;
    auto rt = with_blocking(1);
    auto running = spawn_blocking(rt, [&] {
      started = true;
      g.wait();
      job_done = true;
      return !shutdown_returned.load();  // shutdown must still be waiting
    });
    REQUIRE(eventually([&] { return started.load(); }));
    auto queued = spawn_blocking(rt, [&] { queued_ran = true; });
    std::thread stopper([&] {
      rt.shutdown();
      shutdown_returned = true;
    });
    REQUIRE(eventually([&] { return rt.native().is_shutdown(); }));
    CHECK(eventually([&] { return queued.is_finished(); }));  // cancelled while the other runs
    g.open();
    stopper.join();
    CHECK(job_done);
    CHECK(running.is_finished());
    CHECK(running.take_result());
    CHECK_THROWS_AS(queued.take_result(), cancelled);
    CHECK(!queued_ran);
    // after shutdown: cancelled at once
    auto late = spawn_blocking(rt, [] { return 3; });
    CHECK(late.is_finished());
    CHECK_THROWS_AS(late.take_result(), cancelled);
  }

  TEST_CASE("shutdown gives up waiting after blocking_shutdown_timeout") {
    std::atomic<bool> started{false}, job_done{false};
    gate g;
    {
      auto rt = runtime::builder().worker_threads(1).blocking_shutdown_timeout(20ms).build();
      spawn_blocking(rt, [&] {
        started = true;
        g.wait();
        job_done = true;
      }).detach();
      REQUIRE(eventually([&] { return started.load(); }));
      rt.shutdown();  // returns although the job cannot finish yet
      CHECK(!job_done);
    }
    g.open();  // the job finishes on its own thread, after its runtime is gone
    CHECK(eventually([&] { return job_done.load(); }));
  }

  TEST_CASE("thread-creation failure: an error when no thread exists, a queued job when one does") {
    auto rt = with_blocking(4);
    detail::blocking_pool::fail_next_thread_creations(1);
    CHECK_THROWS_AS((void)spawn_blocking(rt, [] { return 1; }), std::system_error);
    CHECK(rt.metrics().blocking_threads == 0);
    // the pool recovers
    gate g;
    std::atomic<bool> started{false};
    auto busy = spawn_blocking(rt, [&] {
      started = true;
      g.wait();
      return 1;
    });
    REQUIRE(eventually([&] { return started.load(); }));
    detail::blocking_pool::fail_next_thread_creations(1);
    auto queued = spawn_blocking(rt, [] { return 2; });  // no new thread, but the busy one will run it
    CHECK(!queued.is_finished());
    g.open();
    int s = rt.block_on([](blocking_handle<int> a, blocking_handle<int> b) -> task<int> {
      co_return co_await a + co_await b;
    }(std::move(busy), std::move(queued)));
    CHECK(s == 3);
  }

  TEST_CASE("thread-creation failure with no thread left: jobs queued by others complete with the error") {
    auto rt = with_blocking(4);
    // A's thread creation is held until B has queued its job (B starts no thread of its own:
    // A's is on its way), then A's fails: nothing could run B's job any more.
    std::atomic<int> calls{0};
    std::atomic<bool> a_in_creation{false}, b_queued{false};
    detail::blocking_pool::before_thread_creation_for_test([&] {
      if (calls++ == 0) {
        a_in_creation = true;
        while (!b_queued.load()) std::this_thread::yield();
      }
    });
    detail::blocking_pool::fail_next_thread_creations(1);
    std::atomic<bool> a_threw{false};
    std::thread a([&] {
      try {
        (void)spawn_blocking(rt, [] { return 1; });
      } catch (const std::system_error&) {
        a_threw = true;
      }
    });
    REQUIRE(eventually([&] { return a_in_creation.load(); }));
    auto b = spawn_blocking(rt, [] { return 2; });  // queued: A's thread may still come
    b_queued = true;
    a.join();
    detail::blocking_pool::before_thread_creation_for_test(nullptr);
    CHECK(a_threw);
    CHECK(b.is_finished());
    CHECK_THROWS_AS(b.take_result(), std::system_error);
    CHECK(rt.block_on([]() -> task<int> { co_return co_await spawn_blocking([] { return 3; }); }()) == 3);
  }

  TEST_CASE("thread-creation failure while a thread has gone idle: that thread runs what was queued") {
    auto rt = with_blocking(4, 600s);  // an idle thread must not find B only when its keep-alive ends
    gate busy_gate;
    std::atomic<bool> busy_started{false};
    auto busy = spawn_blocking(rt, [&] {
      busy_started = true;
      busy_gate.wait();
    });
    REQUIRE(eventually([&] { return busy_started.load(); }));
    // A's submit starts a second thread; its creation is held, then fails.
    std::atomic<bool> a_in_creation{false}, release{false}, a_ran{false};
    detail::blocking_pool::before_thread_creation_for_test([&] {
      a_in_creation = true;
      while (!release.load()) std::this_thread::yield();
    });
    detail::blocking_pool::fail_next_thread_creations(1);
    std::thread a([&] { spawn_blocking(rt, [&] { a_ran = true; }).detach(); });
    REQUIRE(eventually([&] { return a_in_creation.load(); }));
    busy_gate.open();  // the first thread runs A, then goes idle
    REQUIRE(eventually([&] { return a_ran.load() && busy.is_finished(); }));
    // B is queued behind the thread still on its way; when that one fails, the idle one takes B.
    auto b = spawn_blocking(rt, [] { return 2; });
    release = true;
    a.join();
    detail::blocking_pool::before_thread_creation_for_test(nullptr);
    CHECK(eventually([&] { return b.is_finished(); }));
    CHECK(rt.block_on([](blocking_handle<int> b) -> task<int> { co_return co_await b; }(std::move(b))) == 2);
    CHECK(rt.metrics().blocking_threads == 1);
  }

  TEST_CASE("misuse") {
    CHECK_THROWS_AS((void)spawn_blocking([] { return 1; }), usage_error);  // outside a runtime
    CHECK_THROWS_AS(runtime::builder().max_blocking_threads(0), std::invalid_argument);
    auto rt = test::multi();
    CHECK_THROWS_WITH_AS(rt.block_on([]() -> task<void> {
                           blocking_handle<int> empty;
                           co_await empty;
                         }()),
                         "co_await on an empty corio::blocking_handle (moved-from, detached or already awaited)",
                         usage_error);
    CHECK_THROWS_AS(rt.block_on([]() -> task<void> {
                      auto h = spawn_blocking([] { return 1; });
                      co_await h;
                      co_await h;  // consumed
                    }()),
                    usage_error);
    blocking_handle<int> none;
    CHECK(!none.valid());
    CHECK(!none.is_finished());
    CHECK(none.id() == 0);
    CHECK_THROWS_WITH_AS(none.take_result(),
                         "corio::blocking_handle: result taken from an empty handle (moved-from or already awaited)",
                         usage_error);
    none.abort();
    none.detach();
  }

  TEST_CASE("current_thread runtimes have a blocking pool too") {
    auto rt = test::single();
    CHECK(rt.block_on([]() -> task<int> { co_return co_await spawn_blocking([] { return 9; }); }()) == 9);
  }
}
