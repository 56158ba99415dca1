// corio::once_cell: initialised once under contention, sync and async initialisers, retry after
// a throwing or cancelled initialiser, set/get, and destruction of the value.

#include <doctest/doctest.h>
#include <corio/sync/once_cell.hpp>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/counted.hpp"
#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::counted;
using test::settle;

namespace {

task<int> slow_init(std::atomic<int>* calls) {
  ++*calls;
  for (int i = 0; i < 10; ++i) co_await yield_now();
  co_return 42;
}

task<int> get_or(once_cell<int>& c, int v) {
  co_return co_await c.get_or_init([v] { return v; });
}

task<int> queue_two_then_fail(once_cell<int>& c, std::optional<join_handle<int>>& second,
                              std::optional<join_handle<int>>& third) {
  second = spawn(get_or(c, 20));
  co_await settle();
  third = spawn(get_or(c, 30));
  co_await settle();
  throw std::runtime_error("fails");
}

task<int> get_value(once_cell<int>& c, std::atomic<int>& calls) {
  int& v = co_await c.get_or_init([&calls] { return slow_init(&calls); });
  co_return v;
}

}  // namespace

TEST_SUITE("once_cell") {
  TEST_CASE("the initialiser runs once however many tasks ask at once") {
    once_cell<int> c;
    std::atomic<int> calls{0};
    auto rt = test::multi(2);
    int sum = rt.block_on([](once_cell<int>& c, std::atomic<int>& calls) -> task<int> {
      std::vector<join_handle<int>> hs;
      for (int i = 0; i < 200; ++i) hs.push_back(spawn(get_value(c, calls)));
      int s = 0;
      for (auto& h : hs) s += co_await h;
      co_return s;
    }(c, calls));
    CHECK(sum == 200 * 42);
    CHECK(calls.load() == 1);
    REQUIRE(c.get() != nullptr);
    CHECK(*c.get() == 42);
    CHECK(c.initialized());
  }

  TEST_CASE("a synchronous initialiser; get() is null until then; set() only on an empty cell") {
    once_cell<std::string> c;
    auto rt = test::single();
    CHECK(c.get() == nullptr);
    rt.block_on([](once_cell<std::string>& c) -> task<void> {
      std::string& v = co_await c.get_or_init([] { return std::string("x"); });
      CHECK(v == "x");
      std::string& again = co_await c.get_or_init([]() -> std::string { throw std::logic_error("not called"); });
      CHECK(&again == &v);
    }(c));
    CHECK_FALSE(c.set("y"));
    once_cell<std::string> d;
    CHECK(d.set("z"));
    CHECK(*d.get() == "z");
    once_cell<int> e(5);
    CHECK(*e.get() == 5);
  }

  TEST_CASE("an initialiser that throws: the caller gets the exception, the next waiter retries") {
    once_cell<int> c;
    auto rt = test::single();
    rt.block_on([](once_cell<int>& c) -> task<void> {
      auto first = spawn([](once_cell<int>& c) -> task<int> {
        co_return co_await c.get_or_init([]() -> task<int> {
          co_await yield_now();
          throw std::runtime_error("first attempt fails");
        });
      }(c));
      co_await settle(1);
      auto second = spawn([](once_cell<int>& c) -> task<int> {
        co_return co_await c.get_or_init([]() -> task<int> { co_return 2; });
      }(c));
      CHECK_THROWS_AS(co_await first, std::runtime_error);
      int v = co_await second;
      CHECK(v == 2);
      CHECK(*c.get() == 2);
    }(c));
  }

  TEST_CASE("an initialiser whose task is cancelled: the next waiter takes over") {
    once_cell<int> c;
    auto rt = test::single();
    rt.block_on([](once_cell<int>& c) -> task<void> {
      auto first = spawn([](once_cell<int>& c) -> task<int> {
        co_return co_await c.get_or_init([]() -> task<int> {
          for (;;) co_await yield_now();
        });
      }(c));
      co_await settle(2);
      auto second = spawn([](once_cell<int>& c) -> task<int> {
        co_return co_await c.get_or_init([]() -> task<int> { co_return 3; });
      }(c));
      co_await settle(2);
      CHECK_FALSE(second.is_finished());
      first.abort();
      CHECK_THROWS_AS(co_await first, cancelled);
      int v = co_await second;
      CHECK(v == 3);
    }(c));
  }

  TEST_CASE("a waiter handed the initialiser's role but cancelled before running passes it on") {
    once_cell<int> c;
    auto rt = test::single();
    rt.block_on([](once_cell<int>& c) -> task<void> {
      std::optional<join_handle<int>> second, third;
      bool failed = false;
      try {
        // Our initialiser lets two more callers queue, then fails: the role goes to `second`
        // (woken, queued to run) and we cancel it before it runs.
        co_await c.get_or_init([&c, &second, &third] { return queue_two_then_fail(c, second, third); });
      } catch (const std::runtime_error&) {
        failed = true;
      }
      CHECK(failed);
      second->abort();
      CHECK_THROWS_AS(co_await *second, cancelled);
      int v = co_await *third;
      CHECK(v == 30);
    }(c));
  }

  TEST_CASE("the value is destroyed with the cell, exactly once") {
    counted::reset();
    {
      once_cell<counted> c;
      auto rt = test::single();
      rt.block_on([](once_cell<counted>& c) -> task<void> {
        counted& v = co_await c.get_or_init([] { return counted(7); });
        CHECK(v.value == 7);
      }(c));
      CHECK(counted::alive() == 1);
    }
    CHECK(counted::alive() == 0);
  }
}
