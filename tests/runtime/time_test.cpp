// Timers on paused time (deterministic, instant) and a few on the real clock (bounds only
// from below: a timer must never fire early).

#include <doctest/doctest.h>

#include <corio/sync/mpsc.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include <time.h>

#include <corio/runtime/detail/scheduler.hpp>  // advancing the paused clock from outside the runtime

#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {
// Ticks `n` times, sleeping `late` after the first tick; returns tick instants as ms offsets.
task<std::vector<long>> tick_offsets(interval& iv, clock::time_point start, int n, clock::duration late) {
  std::vector<long> out;
  for (int i = 0; i < n; ++i) {
    auto t = co_await iv.tick();
    out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(t - start).count());
    if (i == 0) co_await sleep(late);  // miss a few ticks
  }
  co_return out;
}
}  // namespace

TEST_SUITE("time") {
  TEST_CASE("paused: a ten-minute sleep completes at once and moves the clock ten minutes") {
    auto rt = test::paused();
    auto wall = std::chrono::steady_clock::now();
    auto moved = rt.block_on([]() -> task<clock::duration> {
      auto t0 = now();
      co_await sleep(10min);
      co_return now() - t0;
    }());
    CHECK(moved >= 10min);
    CHECK(moved < 10min + 2ms);
    CHECK(std::chrono::steady_clock::now() - wall < 10s);
  }

  TEST_CASE("paused: sleepers wake in deadline order") {
    for (bool current : {true, false}) {
      auto rt = test::paused(current);
      auto order = rt.block_on([]() -> task<std::vector<int>> {
        std::vector<int> order;
        std::vector<task<void>> ts;
        for (int d : {30, 10, 20, 5})
          ts.push_back([](int ms, std::vector<int>& o) -> task<void> {
            co_await sleep(std::chrono::milliseconds(ms));
            o.push_back(ms);
          }(d, order));
        co_await join_all(std::move(ts));
        co_return order;
      }());
      CHECK(order == std::vector<int>{5, 10, 20, 30});
    }
  }

  TEST_CASE("paused: advance fires exactly what is due") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      std::atomic<int> fired{0};
      auto h = spawn([](std::atomic<int>& f) -> task<void> {
        co_await sleep(100ms);
        f = 1;
        co_await sleep(100ms);
        f = 2;
      }(fired));
      co_await yield_now();
      co_await time::advance(99ms);
      CHECK(fired.load() == 0);
      co_await time::advance(1ms);
      CHECK(fired.load() == 1);
      co_await time::advance(100ms);
      CHECK(fired.load() == 2);
      co_await h;
    }());
  }

  TEST_CASE("paused, two workers: advancing the clock from outside reaches the timers of a worker that sleeps") {
    // Moving paused time unparks every worker to fire its own due timers (clock.cpp). One
    // worker is held busy by a task that waits without awaiting, so not every worker is idle
    // and auto-advance cannot be what fires the other worker's timers.
    auto rt = test::paused(false);
    constexpr int n = 8;
    std::atomic<int> started{0}, armed{0}, fired{0}, elsewhere{0};
    std::atomic<std::thread::id> busy_thread{};
    auto busy = rt.spawn([](std::atomic<int>& st, std::atomic<int>& f, std::atomic<std::thread::id>& tid) -> task<void> {
      tid = std::this_thread::get_id();
      st = 1;
      auto bound = std::chrono::steady_clock::now() + 10s;
      while (f.load() < n && std::chrono::steady_clock::now() < bound) std::this_thread::yield();
      co_return;
    }(started, fired, busy_thread));
    auto wait_for = [](auto pred) {
      for (auto bound = std::chrono::steady_clock::now() + 10s; !pred() && std::chrono::steady_clock::now() < bound;)
        std::this_thread::yield();
      return pred();
    };
    REQUIRE(wait_for([&] { return started.load() == 1; }));
    std::vector<join_handle<void>> hs;
    for (int i = 0; i < n; ++i)
      hs.push_back(rt.spawn([](std::atomic<int>& a, std::atomic<int>& f, std::atomic<int>& e,
                               std::atomic<std::thread::id>& tid) -> task<void> {
        if (std::this_thread::get_id() != tid.load()) ++e;
        ++a;
        co_await sleep(100ms);
        ++f;
      }(armed, fired, elsewhere, busy_thread)));
    REQUIRE(wait_for([&] { return armed.load() == n; }));
    detail::scheduler& s = rt.native();
    const auto t0 = s.clock().now();
    s.clock().advance(s, 100ms);
    CHECK(wait_for([&] { return fired.load() == n; }));
    CHECK(s.clock().now() - t0 == 100ms);
    CHECK(elsewhere.load() == n);
    rt.block_on([](join_handle<void> b, std::vector<join_handle<void>>& sleepers) -> task<void> {
      co_await b;
      for (auto& h : sleepers) co_await h;
    }(std::move(busy), hs));
  }

  TEST_CASE("zero, negative and huge durations") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      auto t0 = now();
      co_await sleep(0ms);
      co_await sleep(-5s);
      co_await sleep_until(clock::time_point::min());
      CHECK(now() == t0);
      for (int i = 0; i < 1000; ++i) co_await sleep(0ms);  // budget makes these yield now and then
      CHECK_THROWS_AS(co_await timeout(1s, sleep(clock::duration::max())), timed_out);
      CHECK_THROWS_AS(co_await timeout(1s, sleep(std::chrono::hours::max())), timed_out);
      CHECK_THROWS_AS(co_await timeout(1s, sleep_until(clock::time_point::max())), timed_out);
    }());
  }

  TEST_CASE("paused: a sleep to the end of time completes (auto-advance and advance reach it)") {
    for (bool current : {true, false}) {
      for (clock::duration d : {clock::duration::max(), clock::duration::max() - 1ms}) {
        auto rt = test::paused(current);
        auto end = rt.block_on([](clock::duration d) -> task<clock::time_point> {
          co_await sleep(d);
          co_await sleep(1h);  // already at the end: completes at once
          co_return now();
        }(d));
        CHECK(end == clock::time_point::max());
      }
      auto rt = test::paused(current);
      rt.block_on([]() -> task<void> {
        auto h = spawn([]() -> task<void> { co_await sleep_until(clock::time_point::max()); }());
        co_await yield_now();
        co_await time::advance(clock::duration::max());
        co_await time::advance(1s);  // saturated: stays at the end
        CHECK(now() == clock::time_point::max());
        co_await h;
      }());
    }
  }

  TEST_CASE("real clock: a task sleeping to the end of time is parked; the worker idles and shuts down") {
    auto rt = test::multi(1);
    auto h = rt.spawn([]() -> task<void> {
      co_await sleep(clock::duration::max() - 1ms);
      co_await sleep(clock::duration::max());
    }());
    auto bound = std::chrono::steady_clock::now() + 10s;
    // The timer is armed inside the poll; the poll is counted after it returns, so wait for both.
    auto parked = [&] {
      auto m = rt.metrics();
      return m.timers_armed == 1 && m.polls == 1;
    };
    while (!parked() && std::chrono::steady_clock::now() < bound) std::this_thread::yield();
    REQUIRE(parked());
    // A worker spinning on the timer would burn the whole wait in CPU time; an idle one none.
    auto cpu = [] {
      timespec ts{};
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    };
    auto polls = rt.metrics().polls;
    auto cpu0 = cpu();
    std::this_thread::sleep_for(200ms);
    auto used = cpu() - cpu0;
    CHECK(used < 60ms);
    CHECK(rt.metrics().polls == polls);
    CHECK_FALSE(h.is_finished());
    rt.shutdown();  // the sleeper is cancelled; shutdown does not wait for its deadline
    CHECK(h.is_finished());
  }

  TEST_CASE("interval: burst catches up, delay shifts, skip drops missed ticks") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      auto start = now();
      interval burst(start, 10ms, missed_tick_behavior::burst);
      auto b = co_await tick_offsets(burst, start, 5, 35ms);  // (GCC 12: no braced list beside co_await)
      CHECK(b == std::vector<long>{0, 10, 20, 30, 40});
      start = now();
      interval delay(start, 10ms, missed_tick_behavior::delay);
      auto d = co_await tick_offsets(delay, start, 3, 35ms);
      CHECK(d == std::vector<long>{0, 10, 45});
      start = now();
      interval skip(start, 10ms, missed_tick_behavior::skip);
      auto s = co_await tick_offsets(skip, start, 3, 35ms);
      CHECK(s == std::vector<long>{0, 10, 40});
    }());
  }

  TEST_CASE("interval: a prompt consumer keeps the nominal schedule in all three modes") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      for (auto b : {missed_tick_behavior::burst, missed_tick_behavior::delay, missed_tick_behavior::skip}) {
        // Start between two 1 ms timer ticks, so every tick fires a fraction of a millisecond
        // after its deadline, as on the real clock.
        co_await time::advance(300us);
        auto start = now();
        interval iv(start, 10ms, b);
        clock::time_point last;
        for (int i = 0; i <= 100; ++i) {
          last = co_await iv.tick();
          CHECK(last == start + i * 10ms);
        }
        CHECK(now() - start <= 1000ms + 1ms);
      }
    }());
    // A tick up to interval_tolerance late is still on time; later than that, delay shifts.
    auto rt2 = test::paused();
    rt2.block_on([]() -> task<void> {
      auto start = now();
      interval iv(start, 10ms, missed_tick_behavior::delay);
      (void)co_await iv.tick();
      co_await sleep(10ms + interval_tolerance);  // the tick at 10 ms comes 5 ms late: on time
      auto t1 = co_await iv.tick();
      auto t2 = co_await iv.tick();
      CHECK(t1 == start + 10ms);
      CHECK(t2 == start + 20ms);
      co_await sleep(16ms);  // now 36 ms: the tick at 30 ms is 6 ms late, missed
      auto t3 = co_await iv.tick();
      auto t4 = co_await iv.tick();
      CHECK(t3 == start + 30ms);
      CHECK(t4 == start + 46ms);
    }());
  }

  TEST_CASE("interval starting at or near time_point::min() ticks without overflow") {
    for (auto first : {clock::time_point::min(), clock::time_point::min() + 1s}) {
      auto rt = test::paused();
      rt.block_on([](clock::time_point first) -> task<void> {
        auto t0 = now();
        interval burst(first, 1s, missed_tick_behavior::burst);
        auto b0 = co_await burst.tick();
        auto b1 = co_await burst.tick();
        CHECK(b0 == first);
        CHECK(b1 == first + 1s);  // long past: catches up at once
        CHECK(now() == t0);
        interval delay(first, 1s, missed_tick_behavior::delay);
        auto d0 = co_await delay.tick();
        auto d1 = co_await delay.tick();
        CHECK(d0 == first);
        CHECK(d1 == t0 + 1s);
        auto t1 = now();
        interval skip(first, 1s, missed_tick_behavior::skip);
        auto s0 = co_await skip.tick();
        auto s1 = co_await skip.tick();
        CHECK(s0 == first);
        CHECK(s1 > t1);
        CHECK(s1 <= t1 + 1s);
        // On first's grid (s1 - first does not fit the signed rep: take it modulo 2^64).
        auto lag = static_cast<std::uint64_t>(s1.time_since_epoch().count()) -
                   static_cast<std::uint64_t>(first.time_since_epoch().count());
        CHECK(lag % 1'000'000'000u == 0);
      }(first));
    }
  }

  TEST_CASE("interval rejects a period that is not positive") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      CHECK_THROWS_AS(interval(0ms), std::invalid_argument);
      CHECK_THROWS_AS(interval(-1ms), std::invalid_argument);
      co_return;
    }());
  }

  TEST_CASE("misuse: advance without paused time, or backwards") {
    auto rt = test::single();
    CHECK_THROWS_AS(rt.block_on(time::advance(1ms)), usage_error);
    auto prt = test::paused();
    CHECK_THROWS_AS(prt.block_on(time::advance(-1ms)), std::invalid_argument);
    CHECK(prt.block_on([]() -> task<bool> { co_return time::is_paused(); }()));
  }

  TEST_CASE("real clock: a sleep never ends early, on either flavour") {
    for (bool current : {true, false}) {
      auto rt = current ? test::single() : test::multi();
      auto elapsed = rt.block_on([]() -> task<clock::duration> {
        auto t0 = clock::now();
        co_await sleep(15ms);
        co_return clock::now() - t0;
      }());
      CHECK(elapsed >= 15ms);
      CHECK(elapsed < 5s);
    }
  }

  TEST_CASE("real clock: many concurrent sleeps all complete, none early") {
    auto rt = test::multi();
    std::atomic<int> early{0};
    rt.block_on([&]() -> task<void> {
      std::vector<task<void>> ts;
      for (int i = 0; i < 2000; ++i)
        ts.push_back([](int i, std::atomic<int>& e) -> task<void> {
          auto want = std::chrono::milliseconds(i % 20);
          auto t0 = clock::now();
          co_await sleep(want);
          if (clock::now() - t0 < want) ++e;
        }(i, early));
      co_await join_all(std::move(ts));
    }());
    CHECK(early.load() == 0);
  }

  TEST_CASE("timeout: an operation that never suspends wins for any duration, 100 of 100 times") {
    auto rt = test::multi(2);
    int wins = rt.block_on([]() -> task<int> {
      auto value = []() -> task<int> { co_return 7; };
      int n = 0;
      for (int i = 0; i < 100; ++i) {
        n += co_await timeout(0ms, value()) == 7;
        n += co_await timeout(-1s, value()) == 7;
        n += co_await timeout(clock::duration::min(), value()) == 7;
        n += co_await timeout(std::chrono::hours::min(), value()) == 7;
        n += co_await timeout_at(clock::time_point::min(), value()) == 7;
      }
      co_return n;
    }());
    CHECK(wins == 500);
  }

  TEST_CASE("timeout of a suspended operation times out under paused time; timeout_at") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      auto t0 = now();
      CHECK_THROWS_WITH_AS(co_await timeout(0ms, sleep(1s)), "corio::timeout: the operation did not finish within 0 us",
                           timed_out);
      CHECK(now() == t0);
      CHECK_THROWS_WITH_AS(co_await timeout_at(t0 + 50ms, sleep(1s)),
                           "corio::timeout_at: the operation did not finish by its deadline", timed_out);
      CHECK(now() - t0 >= 50ms);
      CHECK(now() - t0 < 1s);
      co_await timeout_at(now() + 1s, sleep(10ms));  // in time
      auto [tx, rx] = mpsc::unbounded<int>();
      tx.send(3);
      CHECK(co_await timeout(1ms, rx.recv()) == std::optional<int>(3));
      CHECK_THROWS_AS(co_await timeout(1ms, rx.recv()), timed_out);
      tx.send(4);  // the timed-out recv lost nothing
      CHECK(co_await rx.recv() == std::optional<int>(4));
    }());
  }

  TEST_CASE("timeout saturates huge negative durations; the message never overflows") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      CHECK_THROWS_WITH_AS(co_await timeout(std::chrono::hours::min(), sleep(1s)),
                           "corio::timeout: the operation did not finish within -9223372036 s", timed_out);
      CHECK_THROWS_WITH_AS(co_await timeout(std::chrono::hours(-3'000'000), sleep(1s)),
                           "corio::timeout: the operation did not finish within -9223372036 s", timed_out);
      CHECK_THROWS_WITH_AS(co_await timeout(-1500ms, sleep(1s)),
                           "corio::timeout: the operation did not finish within -1500 ms", timed_out);
      CHECK_THROWS_WITH_AS(co_await timeout(std::chrono::duration<double>(std::nan("")), sleep(1s)),
                           "corio::timeout: the operation did not finish within 0 us", timed_out);
    }());
  }

  TEST_CASE("NaN and infinite floating durations saturate instead of overflowing") {
    auto rt = test::paused();
    rt.block_on([]() -> task<void> {
      auto t0 = now();
      co_await sleep(std::chrono::duration<double>(std::nan("")));
      co_await sleep(std::chrono::duration<double>(-std::numeric_limits<double>::infinity()));
      CHECK(now() == t0);
      CHECK(sleep(std::chrono::duration<double>(std::numeric_limits<double>::infinity())).deadline() ==
            clock::time_point::max());
      CHECK(detail::saturating_duration(std::chrono::duration<double>(std::nan(""))) == clock::duration::zero());
      CHECK(detail::saturating_duration(std::chrono::hours::max()) == clock::duration::max());
      CHECK(detail::saturating_duration(std::chrono::hours::min()) == clock::duration::min());
      CHECK(detail::describe(clock::duration::min()) == "-9223372036 s");
      CHECK(detail::describe(clock::duration::max()) == "9223372036 s");
    }());
  }
}
