// corio::unsync: borrows on one thread (nested too), a borrow from a second thread while the
// first holds it (usage_error naming both places), release from a moved guard, and the check
// between a task and a plain thread on a real runtime.

#include <doctest/doctest.h>
#include <corio/sync/notify.hpp>
#include <corio/sync/unsync.hpp>

#include <future>
#include <map>
#include <string>
#include <thread>

#include "support/runtimes.hpp"

using namespace corio;

TEST_SUITE("unsync") {
  TEST_CASE("borrows on one thread, nested ones counted, free again when all end") {
    unsync<std::map<int, std::string>> m;
    CHECK_FALSE(m.in_use());
    {
      auto a = m.borrow();
      (*a)[1] = "one";
      {
        auto b = m.borrow();  // same thread: fine
        CHECK(b->at(1) == "one");
        b.get()[2] = "two";
      }
      CHECK(m.in_use());
      CHECK(a->size() == 2);
    }
    CHECK_FALSE(m.in_use());
  }

  TEST_CASE("a moved guard releases once") {
    unsync<int> x(5);
    {
      auto a = x.borrow();
      auto b = std::move(a);
      CHECK(*b == 5);
    }
    CHECK_FALSE(x.in_use());
  }

  TEST_CASE("a borrow from another thread while one is held is a usage_error naming both borrows") {
    unsync<int> x(1);
    auto held = x.borrow();
    std::string message;
    bool threw = false;
    std::thread([&] {
      try {
        auto other = x.borrow();
      } catch (const usage_error& e) {
        threw = true;
        message = e.what();
      }
    }).join();
    CHECK(threw);
    CHECK(message.find("two threads at once") != std::string::npos);
    CHECK(message.find("unsync_test.cpp") != std::string::npos);
    CHECK(*held == 1);  // the holder is untouched
    CHECK(x.in_use());
  }

  TEST_CASE("after the holder lets go, another thread may borrow") {
    unsync<int> x(1);
    { auto a = x.borrow(); }
    bool ok = false;
    std::thread([&] {
      auto b = x.borrow();
      *b = 2;
      ok = true;
    }).join();
    CHECK(ok);
    CHECK(*x.borrow() == 2);
  }

  TEST_CASE("a task holding a borrow and a plain thread using the object: the thread is stopped") {
    unsync<int> shared(0);
    std::promise<void> borrowed;
    notify done;
    std::string message;
    auto rt = test::multi(2);
    std::thread other([&, held = borrowed.get_future()] {
      held.wait();
      try {
        auto b = shared.borrow();
        *b += 1;
      } catch (const usage_error& e) {
        message = e.what();
      }
      done.notify_one();
    });
    rt.block_on([](unsync<int>& shared, std::promise<void>& borrowed, notify& done) -> task<void> {
      auto b = shared.borrow();
      *b += 10;
      borrowed.set_value();
      co_await done.notified();  // held across a co_await on purpose, for the test
    }(shared, borrowed, done));
    other.join();
    CHECK(message.find("two threads at once") != std::string::npos);
    CHECK(*shared.borrow() == 10);
  }
}
