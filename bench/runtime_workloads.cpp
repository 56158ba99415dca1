// The runtime workloads of SPEC.md: spawn_many, yield_many, chained_spawn, timers, idle_tasks,
// select_recv, timeout_ping_pong.
// Each takes the parsed flags by reference: they live in main() until after the runtime is gone.

#include <corio/sync/mpsc.hpp>
#include <corio/sync/notify.hpp>

#include <algorithm>
#include <atomic>

#include "bench.hpp"
#include "ping_pong.hpp"

namespace {

using namespace bench;
using namespace std::chrono_literals;

corio::task<uint64_t> return_value(uint64_t i) { co_return i; }

corio::task<result> spawn_many(const args& a) {
  const uint64_t n = a.get("n");
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> handles;
  handles.reserve(n);
  for (uint64_t i = 0; i < n; ++i) handles.push_back(corio::spawn(return_value(i)));
  uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;  // wrapping, like the peer
  co_return result{seconds_since(t0), sum};
}

corio::task<uint64_t> yielder(uint64_t yields) {
  for (uint64_t i = 0; i < yields; ++i) co_await corio::yield_now();
  co_return yields;
}

corio::task<result> yield_many(const args& a) {
  const uint64_t tasks = a.get("t"), yields = a.get("y");
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> handles;
  handles.reserve(tasks);
  for (uint64_t i = 0; i < tasks; ++i) handles.push_back(corio::spawn(yielder(yields)));
  uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return result{seconds_since(t0), sum};
}

// Each link spawns the next (detached) and returns, so no frame stays alive per level.
corio::task<void> chain_link(uint64_t depth, uint64_t last, corio::notify* done, uint64_t* reached) {
  if (depth >= last) {
    *reached = depth;  // published by notify_one (happens-before the root's notified())
    done->notify_one();
  } else {
    corio::spawn(chain_link(depth + 1, last, done, reached)).detach();
  }
  co_return;
}

corio::task<result> chained_spawn(const args& a) {
  const uint64_t d = a.get("d");
  auto t0 = steady::now();
  corio::notify done;
  uint64_t reached = 0;
  corio::spawn(chain_link(1, d, &done, &reached)).detach();
  co_await done.notified();
  co_return result{seconds_since(t0), reached};
}

/// Sleeps (i*7919 mod 1000) ms and returns how late it woke up.
corio::task<steady::duration> sleeper(uint64_t i) {
  const steady::duration want = std::chrono::milliseconds(i * 7919 % 1000);
  auto start = steady::now();
  co_await corio::sleep(want);
  auto took = steady::now() - start;
  co_return took > want ? took - want : steady::duration::zero();
}

corio::task<result> timers(const args& a) {
  const uint64_t n = a.get("n");
  auto t0 = steady::now();
  std::vector<corio::join_handle<steady::duration>> handles;
  handles.reserve(n);
  for (uint64_t i = 0; i < n; ++i) handles.push_back(corio::spawn(sleeper(i)));
  uint64_t done = 0;
  steady::duration late_sum{}, late_max{};
  for (auto& h : handles) {
    steady::duration late = co_await h;
    ++done;
    late_sum += late;
    late_max = std::max(late_max, late);
  }
  double secs = seconds_since(t0);
  using ms = std::chrono::duration<double, std::milli>;
  std::fprintf(stderr, "timers: lateness mean %.3f ms, max %.3f ms\n", ms(late_sum).count() / double(std::max<uint64_t>(n, 1)),
               ms(late_max).count());
  co_return result{secs, done};
}

// idle_tasks: the event and the counter outlive the runtime, because the runtime's shutdown
// destroys the parked waiters (unlinking them from the event) after the root has returned.
corio::notify idle_event;  // never notified
std::atomic<uint64_t> idle_parked{0};

corio::task<void> idle_waiter() {
  idle_parked.fetch_add(1, std::memory_order_release);
  co_await idle_event.notified();
}

corio::task<result> idle_tasks(const args& a) {
  const uint64_t n = a.get("n");
  uint64_t rss0 = vm_rss_bytes();
  auto t0 = steady::now();
  for (uint64_t i = 0; i < n; ++i) corio::spawn(idle_waiter()).detach();
  while (idle_parked.load(std::memory_order_acquire) < n) co_await corio::sleep(1ms);
  double secs = seconds_since(t0);
  uint64_t rss1 = vm_rss_bytes();
  uint64_t growth = rss1 > rss0 ? rss1 - rss0 : 0;
  std::fprintf(stderr, "idle_tasks: RSS growth %llu KiB for %llu tasks\n", static_cast<unsigned long long>(growth / 1024),
               static_cast<unsigned long long>(n));
  co_return result{secs, growth / std::max<uint64_t>(n, 1)};
}

// select_recv: two producers, one consumer selecting over both receivers.
corio::task<void> count_up(corio::mpsc::sender<uint64_t> tx, uint64_t m) {
  for (uint64_t v = 1; v <= m; ++v) co_await tx.send(v);
}

corio::task<result> select_recv(const args& a) {
  const uint64_t m = a.get("m");
  auto t0 = steady::now();
  auto [tx1, rx1] = corio::mpsc::bounded<uint64_t>(1024);
  auto [tx2, rx2] = corio::mpsc::bounded<uint64_t>(1024);
  corio::spawn(count_up(std::move(tx1), m)).detach();
  corio::spawn(count_up(std::move(tx2), m)).detach();
  uint64_t sum = 0;
  bool open1 = true, open2 = true;
  while (open1 && open2) {
    auto r = co_await corio::select(rx1.recv(), rx2.recv());
    std::optional<uint64_t> v = r.index() == 0 ? std::get<0>(r) : std::get<1>(r);
    if (v)
      sum += *v;
    else
      (r.index() == 0 ? open1 : open2) = false;
  }
  auto& rest = open1 ? rx1 : rx2;
  while (std::optional<uint64_t> v = co_await rest.recv()) sum += *v;
  co_return result{seconds_since(t0), sum};
}

// timeout_ping_pong: ping_pong (sync_workloads.cpp) with every receive under a 10 s timeout.
corio::task<void> timed_pong(corio::mpsc::receiver<uint64_t> ping_rx, corio::mpsc::sender<uint64_t> pong_tx) {
  for (;;) {
    std::optional<uint64_t> c = co_await corio::timeout(10s, ping_rx.recv());
    if (!c) break;
    co_await pong_tx.send(*c + 1);
  }
}

corio::task<uint64_t> timed_ping(corio::mpsc::sender<uint64_t> ping_tx, corio::mpsc::receiver<uint64_t> pong_rx,
                                 uint64_t rounds) {
  uint64_t c = 0;
  for (uint64_t i = 0; i < rounds; ++i) {
    co_await ping_tx.send(c + 1);
    c = *co_await corio::timeout(10s, pong_rx.recv());
  }
  co_return c;
}

corio::task<result> timeout_ping_pong(const args& a) { return run_task_ping_pong<timed_pong, timed_ping>(a); }

const registrar reg_spawn_many({"spawn_many", {{"n", 1'000'000}}, on_runtime<spawn_many>});
const registrar reg_yield_many({"yield_many", {{"t", 1'000}, {"y", 1'000}}, on_runtime<yield_many>});
const registrar reg_chained_spawn({"chained_spawn", {{"d", 1'000'000}}, on_runtime<chained_spawn>});
const registrar reg_timers({"timers", {{"n", 100'000}}, on_runtime<timers>});
const registrar reg_idle_tasks({"idle_tasks", {{"n", 1'000'000}}, on_runtime<idle_tasks>});
const registrar reg_select_recv({"select_recv", {{"m", 1'000'000}}, on_runtime<select_recv>});
const registrar reg_timeout_ping_pong({"timeout_ping_pong", {{"p", 1'000}, {"r", 1'000}}, on_runtime<timeout_ping_pong>});

}  // namespace
