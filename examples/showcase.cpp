// A tour of corio in one program: spawn and join, timers and timeouts, select, task_set,
// notify between tasks and a plain thread. Run: tools/run-example

#include <corio/corio.hpp>
#include <corio/sync/notify.hpp>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

corio::task<std::string> fetch(int id) {
  co_await corio::sleep(std::chrono::milliseconds(10 * (3 - id)));  // a timer, not a blocked thread
  co_return fmt::format("data {}", id);
}

corio::task<long> sum_to(long n) {
  long s = 0;
  for (long i = 1; i <= n; ++i) {
    s += i;
    if (i % 1000 == 0) co_await corio::yield_now();  // be fair to the other tasks
  }
  co_return s;
}

corio::task<int> amain() {
  // 1. join_all: run concurrently, results in input order.
  std::vector<corio::task<std::string>> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(fetch(i));
  for (auto& r : co_await corio::join_all(std::move(jobs))) fmt::print("join_all: {}\n", r);

  // 2. spawn: an independent task, possibly on another worker; await its handle.
  auto handle = corio::spawn(sum_to(100'000));
  fmt::print("spawned task {} -> {}\n", handle.id() != 0 ? "ok" : "?", co_await handle);

  // 3. join: a tuple of different results.
  auto [a, b] = co_await corio::join(fetch(1), sum_to(10));
  fmt::print("join: {} and {}\n", a, b);

  // 4. timeout: the slow fetch is cancelled.
  try {
    co_await corio::timeout(5ms, fetch(0));
  } catch (const corio::timed_out& e) {
    fmt::print("timeout: {}\n", e.what());
  }

  // 5. select: the first to finish wins, the other is cancelled.
  auto first = co_await corio::select(fetch(0), fetch(2));
  fmt::print("select: branch {} won with '{}'\n", first.index(), first.index() == 0 ? std::get<0>(first) : std::get<1>(first));

  // 6. task_set: results as they finish.
  corio::task_set<std::string> set;
  for (int i = 0; i < 3; ++i) set.spawn(fetch(i));
  while (auto r = co_await set.join_next()) fmt::print("task_set: {}\n", *r);

  // 7. notify: a plain thread wakes a task.
  corio::notify ready;
  std::thread producer([&] {
    std::this_thread::sleep_for(1ms);
    ready.notify_one();
  });
  co_await ready.notified();
  producer.join();
  fmt::print("notify: woken by a plain thread\n");

  // 8. interval: three ticks, 2 ms apart.
  corio::interval tick(2ms);
  for (int i = 0; i < 3; ++i) co_await tick.tick();
  fmt::print("interval: 3 ticks\n");
  co_return 0;
}

}  // namespace

int main() {
  auto rt = corio::runtime::builder().build();
  int rc = rt.block_on(amain());
  auto m = rt.metrics();
  fmt::print("runtime: {} workers ({} backend), {} tasks spawned, {} polls, {} steals\n", m.workers, rt.backend_name(),
             m.tasks_spawned, m.polls, m.steals);
  return rc;
}
