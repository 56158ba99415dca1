// co_await par::run from tasks: results, exceptions, aborting the awaiting task while f runs,
// runtime shutdown while f runs, misuse.

#include <doctest/doctest.h>

#include <corio/runtime/detail/scheduler.hpp>  // rt.native().is_shutdown()

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/par.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

using test::fib;
using test::fib_seq;

// Waits (bounded) until `flag` is set; false on timeout.
bool wait_for(const std::atomic<bool>& flag, std::chrono::seconds bound = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_SUITE("par.run") {
  TEST_CASE("co_await par::run: result, exception, nested parallel work") {
    auto rt = test::multi();
    std::vector<std::uint64_t> v(100000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
    auto sum = rt.block_on([&]() -> task<std::uint64_t> {
      co_return co_await par::run([&] { return par::iter(v).sum(); });
    }());
    CHECK(sum == 100000ull * 99999 / 2);
    CHECK_THROWS_WITH_AS(rt.block_on([]() -> task<int> { co_return co_await par::run([]() -> int { throw std::runtime_error("par"); }); }()),
                         "par", std::runtime_error);
    par::pool p(2);
    int v2 = rt.block_on([&]() -> task<int> {
      co_await par::run(p, [] {});
      co_return co_await par::run(p, [] { return par::current_num_threads(); });
    }());
    CHECK(v2 == 2);
  }

  TEST_CASE("a plain par:: call inside a task runs (blocking its worker)") {
    auto rt = test::multi();
    auto f = rt.block_on([]() -> task<std::uint64_t> { co_return fib(20); }());
    CHECK(f == fib_seq(20));
  }

  TEST_CASE("aborting the awaiting task waits for f, which may use the frame until it returns") {
    auto rt = test::multi();
    std::atomic<bool> started{false}, release{false}, frame_gone{false}, f_done{false};
    struct on_destroy {
      std::atomic<bool>* flag;
      ~on_destroy() { flag->store(true); }
    };
    auto h = rt.spawn([](std::atomic<bool>& started, std::atomic<bool>& release, std::atomic<bool>& frame_gone,
                         std::atomic<bool>& f_done) -> task<int> {
      on_destroy guard{&frame_gone};
      std::vector<int> local(1000, 1);
      co_return co_await par::run([&] {
        started = true;
        while (!release.load()) std::this_thread::yield();
        CHECK(!frame_gone.load());  // still alive while f runs
        int s = 0;
        for (int x : local) s += x;  // borrows the frame (ASan checks)
        f_done = true;
        return s;
      });
    }(started, release, frame_gone, f_done));
    REQUIRE(wait_for(started));
    h.abort();
    release = true;
    CHECK_THROWS_AS(rt.block_on([](join_handle<int> h) -> task<int> { co_return co_await h; }(std::move(h))), cancelled);
    CHECK(f_done);
    CHECK(frame_gone);
  }

  TEST_CASE("runtime shutdown while par::run is in flight waits for f") {
    std::atomic<bool> started{false}, release{false}, f_done{false};
    auto rt = test::multi();
    rt.spawn([](std::atomic<bool>& started, std::atomic<bool>& release, std::atomic<bool>& f_done) -> task<void> {
      std::vector<int> local(100, 1);
      co_await par::run([&] {
        started = true;
        while (!release.load()) std::this_thread::yield();
        local[0] = 2;
        f_done = true;
      });
    }(started, release, f_done)).detach();
    REQUIRE(wait_for(started));
    std::thread releaser([&] {
      while (!rt.native().is_shutdown()) std::this_thread::yield();
      release = true;
    });
    rt.shutdown();
    releaser.join();
    CHECK(f_done);
  }

  TEST_CASE("awaited outside a runtime: corio::usage_error, nothing queued") {
    std::atomic<bool> ran{false};
    auto t = [](std::atomic<bool>& ran) -> task<int> {
      co_return co_await par::run([&ran] {
        ran = true;
        return 1;
      });
    }(ran);
    auto h = t.release();
    h.resume();  // on this plain thread: the await cannot register a waker
    REQUIRE(h.done());
    CHECK_THROWS_AS(h.promise().take(), usage_error);
    h.destroy();
    CHECK(!ran);
  }
}
