// The runtime object: builder options, flavours, metrics, backends, block_on.

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "support/runtimes.hpp"

using namespace corio;


TEST_SUITE("runtime") {
  TEST_CASE("builder: worker count, thread names, flavour, backend") {
    auto rt = runtime::builder().worker_threads(3).thread_name("tst").build();
    CHECK(rt.worker_count() == 3);
    CHECK((rt.backend_name() == "uring" || rt.backend_name() == "epoll"));
    auto single = runtime::builder().current_thread().build();
    CHECK(single.worker_count() == 1);
    CHECK_THROWS_AS(runtime::builder().worker_threads(0), std::invalid_argument);
    CHECK_THROWS_AS(runtime::builder().worker_threads(100000), std::invalid_argument);
    auto ep = runtime::builder().worker_threads(1).backend(io_backend::epoll).build();
    CHECK(ep.backend_name() == "epoll");
    CHECK(ep.block_on([]() -> task<int> { co_return 5; }()) == 5);
  }

  TEST_CASE("worker threads carry the configured name") {
    auto rt = runtime::builder().worker_threads(2).thread_name("namecheck").build();
    bool found = rt.block_on([]() -> task<bool> {
      char buf[32] = {};
      pthread_getname_np(pthread_self(), buf, sizeof buf);
      co_return std::string(buf).rfind("namecheck-", 0) == 0;
    }());
    CHECK(found);
  }

  TEST_CASE("current_thread runs tasks on the thread that calls block_on") {
    auto rt = test::single();
    auto me = std::this_thread::get_id();
    auto ids = rt.block_on([]() -> task<std::pair<std::thread::id, std::thread::id>> {
      auto inner = co_await spawn([]() -> task<std::thread::id> { co_return std::this_thread::get_id(); }());
      co_return std::pair{std::this_thread::get_id(), inner};
    }());
    CHECK(ids.first == me);
    CHECK(ids.second == me);
  }

  TEST_CASE("multi_thread runs tasks off the calling thread") {
    auto rt = test::multi();
    auto me = std::this_thread::get_id();
    CHECK(rt.block_on([]() -> task<std::thread::id> { co_return std::this_thread::get_id(); }()) != me);
  }

  TEST_CASE("the free block_on builds a runtime for one call") {
    CHECK(block_on([]() -> task<int> { co_return co_await spawn([]() -> task<int> { co_return 3; }()); }()) == 3);
  }

  TEST_CASE("metrics count workers, spawned and alive tasks, polls") {
    auto rt = test::multi(2);
    rt.block_on([]() -> task<void> {
      std::vector<join_handle<int>> hs;
      for (int i = 0; i < 100; ++i) hs.push_back(spawn([](int v) -> task<int> { co_return v; }(i)));
      for (auto& h : hs) co_await h;
    }());
    auto m = rt.metrics();
    CHECK(m.workers == 2);
    CHECK(m.per_worker.size() == 2);
    CHECK(m.tasks_spawned >= 101);
    CHECK(m.tasks_alive == 0);
    CHECK(m.polls >= 101);
    CHECK(m.injection_queue_depth == 0);
  }

  TEST_CASE("metrics show armed timers") {
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto h = spawn([]() -> task<void> { co_await sleep(std::chrono::hours(1)); }());
      co_await yield_now();
      CHECK(rt.metrics().timers_armed == 1);
      h.abort();
      CHECK_THROWS_AS(co_await h, cancelled);
      CHECK(rt.metrics().timers_armed == 0);
    }());
  }

  TEST_CASE("many runtimes in sequence and side by side") {
    for (int i = 0; i < 20; ++i) {
      auto a = test::multi(2);
      auto b = test::single();
      CHECK(a.block_on([]() -> task<int> { co_return 1; }()) + b.block_on([]() -> task<int> { co_return 2; }()) == 3);
    }
  }

  TEST_CASE("CORIO_BACKEND values") {
    CHECK(detail::parse_backend("uring") == detail::backend_kind::uring);
    CHECK(detail::parse_backend("epoll") == detail::backend_kind::epoll);
    CHECK_FALSE(detail::parse_backend(nullptr).has_value());
    CHECK_FALSE(detail::parse_backend("").has_value());
    CHECK_THROWS_WITH_AS(detail::parse_backend("bogus"), doctest::Contains("'bogus'"), std::runtime_error);
  }
}
