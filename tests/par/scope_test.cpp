// par::scope: borrowing, nested spawns, spawns from foreign threads, exceptions, lifetimes.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/runtimes.hpp"

using namespace corio;

TEST_SUITE("par.scope") {
  TEST_CASE("spawned jobs borrow from the frame and all finish before scope returns") {
    std::vector<int> out(1000, 0);
    int r = par::scope([&](par::scope_handle& s) {
      for (int i = 0; i < 1000; ++i) s.spawn([&out, i] { out[static_cast<std::size_t>(i)] = i * 2; });
      return 7;
    });
    CHECK(r == 7);
    for (int i = 0; i < 1000; ++i) CHECK(out[static_cast<std::size_t>(i)] == i * 2);
  }

  TEST_CASE("coarse spawns are all stealable: four jobs meet on a pool of four workers") {
    // Each job waits (bounded) until all four are running at once: that needs every spawned
    // job to be stealable while its spawner runs another one, and the sleeping workers to be
    // woken one after another as each finds a job.
    par::pool p(4);
    std::atomic<int> running{0};
    std::atomic<int> met{0};
    p.install([&] {
      par::scope([&](par::scope_handle& s) {
        for (int i = 0; i < 4; ++i)
          s.spawn([&] {
            running.fetch_add(1);
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
            while (running.load() < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
            if (running.load() == 4) met.fetch_add(1);
          });
      });
    });
    CHECK(met.load() == 4);
  }

  TEST_CASE("jobs spawn more jobs; spawns from a foreign thread") {
    std::atomic<int> n{0};
    par::scope([&](par::scope_handle& s) {
      for (int i = 0; i < 10; ++i)
        s.spawn([&](par::scope_handle& inner) {
          n++;
          for (int j = 0; j < 10; ++j) inner.spawn([&] { n++; });
        });
      std::thread t([&] { s.spawn([&] { n += 100; }); });  // injected into the pool
      t.join();
    });
    CHECK(n == 10 + 100 + 100);
  }

  TEST_CASE("exceptions: every job still runs; the body's exception wins, else the first job's") {
    std::atomic<int> ran{0};
    auto body_throws = [&] {
      par::scope([&](par::scope_handle& s) {
        for (int i = 0; i < 20; ++i) s.spawn([&] { ran++; });
        throw std::runtime_error("body");
      });
    };
    CHECK_THROWS_WITH_AS(body_throws(), "body", std::runtime_error);
    CHECK(ran == 20);
    ran = 0;
    auto job_throws = [&] {
      par::scope([&](par::scope_handle& s) {
        for (int i = 0; i < 20; ++i)
          s.spawn([&, i] {
            ran++;
            if (i % 7 == 3) throw std::logic_error("job");
          });
      });
    };
    CHECK_THROWS_WITH_AS(job_throws(), "job", std::logic_error);
    CHECK(ran == 20);
  }

  TEST_CASE("closures are destroyed once") {
    test::counted::reset();
    par::scope([&](par::scope_handle& s) {
      for (int i = 0; i < 50; ++i) s.spawn([c = test::counted(i)] { (void)c; });
    });
    CHECK(test::counted::alive() == 0);
  }
}
