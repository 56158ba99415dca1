#pragma once
// The ping_pong driver, shared by ping_pong (sync_workloads.cpp), timeout_ping_pong
// (runtime_workloads.cpp) and fiber_ping_pong (fiber_workloads.cpp), so that they differ only in
// how the two sides of a pair run. P pairs, each joined by two capacity-1 mpsc channels, pass a
// counter back and forth R times; the timed span covers making the pairs, starting them and
// joining every pinger.

#include <corio/sync/mpsc.hpp>

#include <utility>
#include <vector>

#include "bench.hpp"

namespace bench {

/// Runs ping_pong with the workload's --p and --r. For each pair, start_pong(ping_rx, pong_tx)
/// starts the ponger (detached), then start_ping(ping_tx, pong_rx, rounds) starts the pinger and
/// returns its join_handle<uint64_t>, whose value is the counter it ended with (2R). The
/// checksum is the sum of those counters.
template <class StartPong, class StartPing>
corio::task<result> run_ping_pong(const args& a, StartPong start_pong, StartPing start_ping) {
  const uint64_t pairs = a.get("p"), rounds = a.get("r");
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> handles;
  handles.reserve(pairs);
  for (uint64_t i = 0; i < pairs; ++i) {
    auto [ping_tx, ping_rx] = corio::mpsc::bounded<uint64_t>(1);
    auto [pong_tx, pong_rx] = corio::mpsc::bounded<uint64_t>(1);
    start_pong(std::move(ping_rx), std::move(pong_tx));
    handles.push_back(start_ping(std::move(ping_tx), std::move(pong_rx), rounds));
  }
  uint64_t total = 0;
  for (auto& h : handles) total += co_await h;
  co_return result{seconds_since(t0), total};
}

/// run_ping_pong with both sides as tasks: Pong(ping_rx, pong_tx) and Ping(ping_tx, pong_rx,
/// rounds) are coroutine functions, each pair's two calls spawned on the runtime.
template <auto Pong, auto Ping>
corio::task<result> run_task_ping_pong(const args& a) {
  auto start_pong = [](corio::mpsc::receiver<uint64_t> ping_rx, corio::mpsc::sender<uint64_t> pong_tx) {
    corio::spawn(Pong(std::move(ping_rx), std::move(pong_tx))).detach();
  };
  auto start_ping = [](corio::mpsc::sender<uint64_t> ping_tx, corio::mpsc::receiver<uint64_t> pong_rx, uint64_t rounds) {
    return corio::spawn(Ping(std::move(ping_tx), std::move(pong_rx), rounds));
  };
  return run_ping_pong(a, start_pong, start_ping);
}

}  // namespace bench
