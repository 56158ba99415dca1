// The worker run queue: FIFO pops, overflow of half the queue, stealing half, and exactly-once
// delivery when an owner and several stealers race.

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../../runtime/detail/local_queue.hpp"

using corio::detail::local_queue;
using corio::detail::task_header;

namespace {
// Fake task pointers: the queue never dereferences them.
task_header* fake(std::uintptr_t i) { return reinterpret_cast<task_header*>((i + 1) * 16); }
std::uintptr_t id(task_header* t) { return reinterpret_cast<std::uintptr_t>(t) / 16 - 1; }
}  // namespace

TEST_SUITE("local_queue") {
  TEST_CASE("push and pop are FIFO") {
    local_queue<8> q;
    auto no_overflow = [](task_header* const*, std::size_t) { FAIL("unexpected overflow"); };
    for (int i = 0; i < 5; ++i) q.push_back(fake(i), no_overflow);
    CHECK(q.size() == 5);
    for (int i = 0; i < 5; ++i) CHECK(id(q.pop()) == static_cast<std::uintptr_t>(i));
    CHECK(q.pop() == nullptr);
    CHECK(q.empty());
  }

  TEST_CASE("a full queue hands half of itself plus the new task to the overflow") {
    local_queue<8> q;
    std::vector<std::uintptr_t> spilled;
    auto sink = [&](task_header* const* ts, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) spilled.push_back(id(ts[i]));
    };
    for (int i = 0; i < 9; ++i) q.push_back(fake(i), sink);
    CHECK(spilled == std::vector<std::uintptr_t>{0, 1, 2, 3, 8});
    for (int i = 4; i < 8; ++i) CHECK(id(q.pop()) == static_cast<std::uintptr_t>(i));
  }

  TEST_CASE("steal_into moves half (rounded up) and returns one to run") {
    local_queue<16> a, b;
    auto sink = [](task_header* const*, std::size_t) {};
    for (int i = 0; i < 7; ++i) a.push_back(fake(i), sink);
    task_header* t = a.steal_into(b);
    REQUIRE(t != nullptr);
    CHECK(a.size() == 3);
    CHECK(b.size() == 3);  // 4 stolen: 3 queued in b, one returned
    CHECK(id(t) == 3);
    CHECK(b.steal_into(a) != nullptr);
  }

  TEST_CASE("owner and stealers racing: every task is taken exactly once") {
    constexpr std::size_t total = 200'000;
    local_queue<256> owner;
    std::vector<std::atomic<int>> seen(total);
    std::atomic<bool> done{false};
    std::atomic<std::size_t> taken{0};
    std::vector<std::uintptr_t> overflowed;
    auto take = [&](task_header* t) {
      seen[id(t)].fetch_add(1);
      taken.fetch_add(1);
    };
    std::vector<std::thread> stealers;
    for (int s = 0; s < 3; ++s)
      stealers.emplace_back([&] {
        local_queue<256> mine;
        while (!done.load()) {
          if (task_header* t = owner.steal_into(mine)) {
            take(t);
            while (task_header* u = mine.pop()) take(u);
          }
        }
      });
    for (std::size_t i = 0; i < total; ++i) {
      owner.push_back(fake(i), [&](task_header* const* ts, std::size_t n) {
        for (std::size_t k = 0; k < n; ++k) overflowed.push_back(id(ts[k]));
      });
      if (i % 3 == 0)
        if (task_header* t = owner.pop()) take(t);
    }
    while (task_header* t = owner.pop()) take(t);
    while (taken.load() + overflowed.size() < total) std::this_thread::yield();
    done = true;
    for (auto& t : stealers) t.join();
    for (auto i : overflowed) seen[i].fetch_add(1);
    std::size_t bad = 0;
    for (auto& s : seen) bad += s.load() != 1;
    CHECK(bad == 0);
  }
}
