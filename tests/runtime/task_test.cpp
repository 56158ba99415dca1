// task<T>: laziness, results of every kind, exceptions, symmetric transfer depth, misuse.

#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "support/counted.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

task<int> forty_two() { co_return 42; }
task<void> nothing() { co_return; }
task<std::string> text(std::string s) { co_return s + "!"; }
task<int&> ref_to(int& x) { co_return x; }
task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }
task<int> thrower() {
  throw std::runtime_error("boom");
  co_return 0;
}
task<long> depth(long n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await depth(n - 1);
}

}  // namespace

TEST_SUITE("task") {
  TEST_CASE("a task is lazy: nothing runs until it is awaited") {
    int runs = 0;
    auto make = [&]() -> task<int> {
      ++runs;
      co_return 1;
    };
    auto rt = test::single();
    task<int> t = make();
    CHECK(runs == 0);
    CHECK(rt.block_on(std::move(t)) == 1);
    CHECK(runs == 1);
  }

  TEST_CASE("values, void, references and move-only results") {
    auto rt = test::multi();
    CHECK(rt.block_on(forty_two()) == 42);
    rt.block_on(nothing());
    CHECK(rt.block_on(text("hi")) == "hi!");
    int x = 5;
    int& r = rt.block_on(ref_to(x));
    CHECK(&r == &x);
    CHECK(*rt.block_on(boxed(7)) == 7);
  }

  TEST_CASE("nested awaits compose") {
    auto rt = test::single();
    int v = rt.block_on([]() -> task<int> {
      int a = co_await forty_two();
      std::string s = co_await text("x");
      co_return a + static_cast<int>(s.size());
    }());
    CHECK(v == 44);
  }

  TEST_CASE("exceptions propagate through co_await and block_on") {
    auto rt = test::multi();
    CHECK_THROWS_WITH_AS(rt.block_on(thrower()), "boom", std::runtime_error);
    int v = rt.block_on([]() -> task<int> {
      try {
        co_await thrower();
      } catch (const std::runtime_error& e) {
        co_return std::string(e.what()) == "boom" ? 1 : 2;
      }
      co_return 3;
    }());
    CHECK(v == 1);
  }

  TEST_CASE("a million-deep await chain does not grow the stack") {
    auto rt = test::single();
    long n = test::scaled(1'000'000);
    CHECK(rt.block_on(depth(n)) == n);
  }

  TEST_CASE("a loop of synchronously completing awaits does not grow the stack") {
    auto rt = test::single();
    long n = test::scaled(2'000'000);
    long sum = rt.block_on([](long n) -> task<long> {
      long s = 0;
      for (long i = 0; i < n; ++i) s += co_await forty_two();
      co_return s;
    }(n));
    CHECK(sum == 42 * n);
  }

  TEST_CASE("destroying an unstarted task destroys its arguments") {
    test::counted::reset();
    {
      auto t = [](test::counted c) -> task<int> { co_return c.value; }(test::counted(3));
      CHECK(test::counted::alive() == 1);
    }
    CHECK(test::counted::alive() == 0);
  }

  TEST_CASE("misuse: awaiting a moved-from task, and awaiting a task twice") {
    auto rt = test::single();
    CHECK_THROWS_AS(rt.block_on(task<int>{}), usage_error);
    std::string msg = rt.block_on([]() -> task<std::string> {
      task<int> a = forty_two();
      task<int> b = std::move(a);
      try {
        co_await a;  // NOLINT: deliberately moved-from
      } catch (const usage_error& e) {
        co_return std::string(e.what());
      }
      co_return "no error";
    }());
    CHECK(msg.find("moved-from") != std::string::npos);
    msg = rt.block_on([]() -> task<std::string> {
      task<int> a = forty_two();
      co_await a;
      try {
        co_await a;
      } catch (const usage_error& e) {
        co_return std::string(e.what());
      }
      co_return "no error";
    }());
    CHECK(msg.find("awaited twice") != std::string::npos);
  }

  TEST_CASE("awaiting a corio awaitable outside a runtime is a usage error") {
    // A task driven by hand (not by a runtime) that sleeps: the sleep names the misuse.
    task<void> t = []() -> task<void> { co_await sleep(std::chrono::milliseconds(1)); }();
    auto h = t.release();
    h.resume();  // the body runs and the sleep throws into it
    CHECK(h.done());
    CHECK_THROWS_AS(h.promise().take(), usage_error);
    h.destroy();
  }
}
