// corio::rw_lock: shared readers, exclusive writers, writer preference, FIFO batches of readers,
// cancellation (including a writer that gives up at the head), blocking calls, misuse.

#include <doctest/doctest.h>
#include <corio/sync/rw_lock.hpp>

#include <string>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

using test::settle;
using test::spawn_queued;

task<void> read_into(rw_lock<int>& l, std::vector<std::string>& log, std::string name) {
  auto r = co_await l.read();
  log.push_back(name + "=" + std::to_string(*r));
}

task<void> write_value(rw_lock<int>& l, std::vector<std::string>& log, std::string name, int v) {
  auto w = co_await l.write();
  *w = v;
  log.push_back(name);
}

}  // namespace

TEST_SUITE("rw_lock") {
  TEST_CASE("many readers at once, one writer alone") {
    rw_lock<int> l(1);
    auto rt = test::single();
    rt.block_on([&]() -> task<void> {
      auto r1 = co_await l.read();
      auto r2 = co_await l.read();
      CHECK(l.reader_count() == 2);
      CHECK(*r1 + *r2 == 2);
      CHECK_FALSE(l.try_write().has_value());
      CHECK(l.try_read().has_value());
      r1.unlock();
      r2.unlock();
      auto w = co_await l.write();
      CHECK(l.is_write_locked());
      CHECK_FALSE(l.try_read().has_value());
      CHECK_FALSE(l.try_write().has_value());
      *w = 2;
    }());
    CHECK(l.get_unsynchronized() == 2);
    CHECK_FALSE(l.is_write_locked());
    CHECK(l.reader_count() == 0);
  }

  TEST_CASE("a waiting writer holds back later readers; the readers behind it go in together") {
    rw_lock<int> l(0);
    auto rt = test::single();
    std::vector<std::string> log;
    rt.block_on([&]() -> task<void> {
      auto r = co_await l.read();
      auto w = co_await spawn_queued(write_value(l, log, "w", 5));
      CHECK_FALSE(l.try_read().has_value());  // a writer waits: no overtaking
      auto r1 = co_await spawn_queued(read_into(l, log, "r1"));
      auto r2 = co_await spawn_queued(read_into(l, log, "r2"));
      auto w2 = co_await spawn_queued(write_value(l, log, "w2", 6));
      auto r3 = co_await spawn_queued(read_into(l, log, "r3"));
      CHECK(log.empty());
      r.unlock();
      co_await w;
      co_await r1;
      co_await r2;
      co_await w2;
      co_await r3;
    }());
    // r1 and r2 are let in together (they may run in either order), before w2.
    REQUIRE(log.size() == 5);
    CHECK(log[0] == "w");
    CHECK(((log[1] == "r1=5" && log[2] == "r2=5") || (log[1] == "r2=5" && log[2] == "r1=5")));
    CHECK(log[3] == "w2");
    CHECK(log[4] == "r3=6");
  }

  TEST_CASE("a writer cancelled at the head of the queue lets the readers behind it in") {
    rw_lock<int> l(3);
    auto rt = test::single();
    std::vector<std::string> log;
    rt.block_on([&]() -> task<void> {
      auto r = co_await l.read();
      auto w = co_await spawn_queued(write_value(l, log, "w", 5));
      auto r1 = co_await spawn_queued(read_into(l, log, "r1"));
      CHECK(log.empty());
      w.abort();
      CHECK_THROWS_AS(co_await w, cancelled);
      co_await r1;  // in alongside r, which still holds its read lock
      CHECK(l.reader_count() == 1);
    }());
    CHECK(log == std::vector<std::string>{"r1=3"});
  }

  TEST_CASE("a writer cancelled after it was granted the lock releases it") {
    rw_lock<int> l(0);
    auto rt = test::single();
    std::vector<std::string> log;
    rt.block_on([&]() -> task<void> {
      auto r = co_await l.read();
      auto w = co_await spawn_queued(write_value(l, log, "w", 5));
      auto r1 = co_await spawn_queued(read_into(l, log, "r1"));
      r.unlock();  // granted to w, which is queued to run...
      w.abort();   // ...and cancelled first
      CHECK_THROWS_AS(co_await w, cancelled);
      co_await r1;
    }());
    CHECK(log == std::vector<std::string>{"r1=0"});
    CHECK_FALSE(l.is_write_locked());
  }

  TEST_CASE("more waiting readers than one wake-up batch are all let in") {
    rw_lock<int> l(9);
    auto rt = test::single();
    std::vector<std::string> log;
    rt.block_on([&]() -> task<void> {
      auto w = co_await l.write();
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 40; ++i) hs.push_back(spawn(read_into(l, log, "r")));
      co_await settle();
      w.unlock();
      CHECK(l.reader_count() == 40);
      for (auto& h : hs) co_await h;
    }());
    CHECK(log.size() == 40);
  }

  TEST_CASE("blocking_read / blocking_write from plain threads") {
    rw_lock<long> l(0);
    auto rt = test::multi(2);
    std::thread writer([&l] {
      for (int i = 0; i < 1000; ++i) ++*l.blocking_write();
    });
    std::thread reader([&l] {
      for (int i = 0; i < 1000; ++i) {
        auto r = l.blocking_read();
        CHECK(*r >= 0);
      }
    });
    rt.block_on([](rw_lock<long>& l) -> task<void> {
      for (int i = 0; i < 1000; ++i) ++*co_await l.write();
    }(l));
    writer.join();
    reader.join();
    CHECK(l.get_unsynchronized() == 2000);
  }

  TEST_CASE("misuse: blocking calls on a worker thread") {
    rw_lock<int> l;
    auto rt = test::single();
    rt.block_on([](rw_lock<int>& l) -> task<void> {
      CHECK_THROWS_AS((void)l.blocking_read(), usage_error);
      CHECK_THROWS_AS((void)l.blocking_write(), usage_error);
      co_return;
    }(l));
  }
}
