// Diagnostics: blocking detection with spawn locations, task dumps, Prometheus text.

#include <doctest/doctest.h>
#include <corio/sync/mpsc.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/notify.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

// Blocks its worker (no await) until `release` is set, for at most 30 s.
task<void> hog(std::atomic<bool>& release, std::atomic<bool>& started) {
  started = true;
  auto give_up = std::chrono::steady_clock::now() + 30s;
  while (!release.load() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  co_return;
}

template <class Pred>
bool wait_until(Pred p, std::chrono::seconds bound = 30s) {
  auto end = std::chrono::steady_clock::now() + bound;
  while (!p()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Collects reports; releases the hog once one has come in.
struct report_sink {
  std::mutex m;
  std::vector<blocking_report> reports;
  std::atomic<bool>* release = nullptr;
  blocking_hook hook() {
    return [this](const blocking_report& r) {
      std::lock_guard lock(m);
      reports.push_back(r);
      if (release) *release = true;
    };
  }
  std::size_t size() {
    std::lock_guard lock(m);
    return reports.size();
  }
};

struct env_var {
  const char* name;
  env_var(const char* n, const char* value) : name(n) { setenv(n, value, 1); }
  ~env_var() { unsetenv(name); }
};

const task_info* find(const task_dump& d, std::uint64_t id) {
  for (const task_info& t : d.tasks)
    if (t.id == id) return &t;
  return nullptr;
}

}  // namespace

TEST_SUITE("diagnostics") {
  TEST_CASE("a task blocking its worker is reported while it runs, with its spawn location") {
    std::atomic<bool> release{false}, started{false};
    report_sink sink;
    sink.release = &release;
    auto rt = runtime::builder().worker_threads(2).detect_blocking(20ms).on_blocking(sink.hook()).build();
    const std::uint32_t line = std::source_location::current().line() + 1;
    auto h = rt.spawn(hog(release, started));
    // The hog only ends once the watchdog has reported it (or after 30 s, failing below).
    rt.block_on([](join_handle<void> h) -> task<void> { co_await h; }(std::move(h)));
    REQUIRE(sink.size() == 1);
    const blocking_report& r = sink.reports[0];
    CHECK(r.spawned_at.line() == line);
    CHECK(std::string(r.spawned_at.file_name()).find("diagnostics_test.cpp") != std::string::npos);
    CHECK(r.running_for >= 20ms);
    CHECK(r.threshold == 20ms);
    CHECK(r.worker < 2);
    const std::string text = r.to_string();
    CHECK(text.find("diagnostics_test.cpp:" + std::to_string(line)) != std::string::npos);
    CHECK(text.find("spawn_blocking") != std::string::npos);
  }

  TEST_CASE("tasks that suspend often are not reported; detection off by default") {
    report_sink sink;
    auto rt = runtime::builder().worker_threads(2).detect_blocking(200ms).on_blocking(sink.hook()).build();
    rt.block_on([]() -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 4; ++i)
        hs.push_back(spawn([]() -> task<void> {
          for (int k = 0; k < 2000; ++k) co_await yield_now();
        }()));
      for (auto& h : hs) co_await h;
    }());
    CHECK(sink.size() == 0);
  }

  TEST_CASE("CORIO_DETECT_BLOCKING turns detection on; a malformed value is refused by name") {
    {
      env_var e("CORIO_DETECT_BLOCKING", "25");
      std::atomic<bool> release{false}, started{false};
      report_sink sink;
      sink.release = &release;
      auto rt = runtime::builder().current_thread().on_blocking(sink.hook()).build();
      rt.block_on(hog(release, started));  // block_on's own task: location unknown
      REQUIRE(sink.size() == 1);
      CHECK(sink.reports[0].threshold == 25ms);
      CHECK(sink.reports[0].spawned_at.line() == 0);
      CHECK(sink.reports[0].to_string().find("unknown place") != std::string::npos);
    }
    for (const char* bad : {"fast", "10ms", "-5", "1.5"}) {
      env_var e("CORIO_DETECT_BLOCKING", bad);
      const std::string expected = std::string("CORIO_DETECT_BLOCKING='") + bad + "'";
      CHECK_THROWS_WITH_AS(runtime::builder().current_thread().build(), doctest::Contains(expected.c_str()), std::invalid_argument);
    }
    {
      env_var e("CORIO_DETECT_BLOCKING", "nonsense");  // the builder's setting wins over the environment
      auto rt = runtime::builder().current_thread().detect_blocking(0ms).build();
      CHECK(rt.block_on([]() -> task<int> { co_return 1; }()) == 1);
    }
    CHECK_THROWS_AS(runtime::builder().detect_blocking(-1ms), std::invalid_argument);
  }

  TEST_CASE("a throwing blocking hook is contained") {
    std::atomic<bool> release{false}, started{false};
    std::atomic<int> calls{0};
    auto rt = runtime::builder()
                  .worker_threads(1)
                  .detect_blocking(10ms)
                  .on_blocking([&](const blocking_report&) {
                    ++calls;
                    release = true;
                    throw std::runtime_error("hook failure");
                  })
                  .build();
    rt.block_on(hog(release, started));
    CHECK(calls.load() == 1);
    CHECK(rt.block_on([]() -> task<int> { co_return 2; }()) == 2);  // still serving
  }

  TEST_CASE("dump_tasks lists live tasks with their spawn location and what they wait on") {
    notify never;
    mutex<int> m(0);
    auto [tx, rx] = mpsc::unbounded<int>();
    auto rt = test::multi();
    std::optional<mutex_guard<int>> held;
    rt.block_on([&]() -> task<void> { held.emplace(co_await m.lock()); }());

    const std::uint32_t first_line = std::source_location::current().line() + 1;
    auto sleeper = rt.spawn([]() -> task<void> { co_await sleep(1h); }());
    auto waiter = rt.spawn([](notify& n) -> task<void> { co_await n.notified(); }(never));
    auto locker = rt.spawn([](mutex<int>& mu) -> task<void> { auto g = co_await mu.lock(); }(m));
    auto receiver = rt.spawn([](mpsc::receiver<int> r) -> task<void> { co_await r.recv(); }(std::move(rx)));

    auto waiting_on = [&](std::uint64_t id) -> std::string {
      task_dump d = rt.dump_tasks();
      const task_info* t = find(d, id);
      return t && t->status == task_status::waiting ? t->waiting_on : std::string();
    };
    REQUIRE(wait_until([&] { return waiting_on(sleeper.id()) == "corio::sleep"; }));
    REQUIRE(wait_until([&] { return waiting_on(waiter.id()) == "corio::notify::notified"; }));
    REQUIRE(wait_until([&] { return waiting_on(locker.id()) == "corio::mutex::lock"; }));
    REQUIRE(wait_until([&] { return waiting_on(receiver.id()) == "corio::mpsc::receiver::recv"; }));

    task_dump d = rt.dump_tasks();
    CHECK(d.unresponsive_workers.empty());
    CHECK(d.tasks.size() == 4);
    CHECK(find(d, sleeper.id())->spawned_at.line() == first_line);
    CHECK(find(d, receiver.id())->spawned_at.line() == first_line + 3);
    const std::string text = d.to_string();
    CHECK(text.find("task " + std::to_string(locker.id()) + " waiting on corio::mutex::lock, spawned at ") != std::string::npos);
    CHECK(text.find("diagnostics_test.cpp:" + std::to_string(first_line + 2)) != std::string::npos);

    // Finished tasks leave the dump; aborted ones too, once their frame is gone.
    held.reset();
    tx.send(1);
    never.notify_one();
    rt.block_on([&]() -> task<void> {
      co_await locker;
      co_await receiver;
      co_await waiter;
    }());
    sleeper.abort();
    REQUIRE(wait_until([&] { return rt.dump_tasks().tasks.empty(); }));
  }

  TEST_CASE("dump_tasks from inside a task, and with a worker stuck in one long poll") {
    std::atomic<bool> release{false}, started{false};
    auto rt = test::multi();
    auto stuck = rt.spawn(hog(release, started));
    REQUIRE(wait_until([&] { return started.load(); }));
    task_dump d = rt.dump_tasks(100ms);
    CHECK(d.unresponsive_workers.size() == 1);  // the hog's worker cannot answer
    // From a task on the other worker: it answers for itself.
    task_dump inner = rt.block_on([&]() -> task<task_dump> { co_return rt.dump_tasks(100ms); }());
    CHECK(inner.unresponsive_workers.size() == 1);
    release = true;
    rt.block_on([](join_handle<void> h) -> task<void> { co_await h; }(std::move(stuck)));
    CHECK(rt.dump_tasks().unresponsive_workers.empty());
  }

  TEST_CASE("a current_thread runtime outside block_on: its worker cannot answer") {
    auto rt = test::single();
    auto h = rt.spawn([]() -> task<void> { co_await sleep(1h); }());
    task_dump d = rt.dump_tasks(50ms);
    CHECK(d.unresponsive_workers == std::vector<unsigned>{0});
    CHECK(find(d, h.id()) != nullptr);  // spawned from outside: listed from the shared registry
    CHECK(d.to_string().find("worker 0 did not answer") != std::string::npos);
    task_dump inside = rt.block_on([&]() -> task<task_dump> { co_return rt.dump_tasks(); }());
    CHECK(inside.unresponsive_workers.empty());
    CHECK(find(inside, h.id()) != nullptr);
  }

  TEST_CASE("metrics in the Prometheus text format") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      for (int i = 0; i < 10; ++i) co_await spawn([]() -> task<void> { co_return; }());
    }());
    runtime_metrics m = rt.metrics();
    std::string text = format_prometheus(m);
    CHECK(text.find("# TYPE corio_tasks_spawned_total counter\n") != std::string::npos);
    CHECK(text.find("corio_tasks_spawned_total " + std::to_string(m.tasks_spawned) + "\n") != std::string::npos);
    CHECK(text.find("# TYPE corio_tasks_alive gauge\n") != std::string::npos);
    CHECK(text.find("corio_worker_polls_total{worker=\"1\"} ") != std::string::npos);
    CHECK(text.find("# HELP corio_workers ") != std::string::npos);
    CHECK(format_prometheus(m, "svc").find("svc_workers 2\n") != std::string::npos);
    // Every sample line is "name[{labels}] value".
    std::size_t samples = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty() || line[0] == '#') continue;
      ++samples;
      CHECK(line.rfind("corio_", 0) == 0);
      CHECK(line.find(' ') != std::string::npos);
    }
    CHECK(samples >= 14 + 5 * 2);
  }
}
