// The sync workloads of SPEC.md: ping_pong, mpsc, mutex (as the Tokio peer runs them).
// Each takes the parsed flags by reference: they live in main() until after the runtime is gone.

#include <corio/sync/mpsc.hpp>
#include <corio/sync/mutex.hpp>

#include <memory>
#include <vector>

#include "bench.hpp"
#include "ping_pong.hpp"

namespace {

using namespace bench;

// pong: bump the counter and send it back until the pinger hangs up.
corio::task<void> pong(corio::mpsc::receiver<uint64_t> ping_rx, corio::mpsc::sender<uint64_t> pong_tx) {
  while (std::optional<uint64_t> c = co_await ping_rx.recv()) co_await pong_tx.send(*c + 1);
}

// ping: R round trips; the counter ends at 2R (the messages this pair exchanged).
corio::task<uint64_t> ping(corio::mpsc::sender<uint64_t> ping_tx, corio::mpsc::receiver<uint64_t> pong_rx, uint64_t rounds) {
  uint64_t c = 0;
  for (uint64_t i = 0; i < rounds; ++i) {
    co_await ping_tx.send(c + 1);
    c = *co_await pong_rx.recv();
  }
  co_return c;
}

corio::task<result> ping_pong(const args& a) { return run_task_ping_pong<pong, ping>(a); }

corio::task<void> producer(corio::mpsc::sender<uint64_t> tx, uint64_t m) {
  for (uint64_t v = 0; v < m; ++v) co_await tx.send(v);
}

corio::task<result> mpsc(const args& a) {
  const uint64_t m = a.get("m");
  auto t0 = steady::now();
  auto [tx, rx] = corio::mpsc::bounded<uint64_t>(1024);
  for (int i = 0; i < 4; ++i) corio::spawn(producer(tx, m)).detach();
  { auto drop = std::move(tx); }
  uint64_t sum = 0;
  while (std::optional<uint64_t> v = co_await rx.recv()) sum += *v;  // wrapping, like the peer
  co_return result{seconds_since(t0), sum};
}

corio::task<void> incrementer(std::shared_ptr<corio::mutex<uint64_t>> counter, uint64_t k) {
  for (uint64_t i = 0; i < k; ++i) {
    auto g = co_await counter->lock();
    ++*g;
  }
}

corio::task<result> mutex(const args& a) {
  const uint64_t tasks = a.get("t"), k = a.get("k");
  auto t0 = steady::now();
  auto counter = std::make_shared<corio::mutex<uint64_t>>(0);
  std::vector<corio::join_handle<void>> handles;
  handles.reserve(tasks);
  for (uint64_t i = 0; i < tasks; ++i) handles.push_back(corio::spawn(incrementer(counter, k)));
  for (auto& h : handles) co_await h;
  uint64_t v = *co_await counter->lock();
  co_return result{seconds_since(t0), v};
}

const registrar reg_ping_pong({"ping_pong", {{"p", 1'000}, {"r", 1'000}}, on_runtime<ping_pong>});
const registrar reg_mpsc({"mpsc", {{"m", 1'000'000}}, on_runtime<mpsc>});
const registrar reg_mutex({"mutex", {{"t", 1'000}, {"k", 1'000}}, on_runtime<mutex>});

}  // namespace
