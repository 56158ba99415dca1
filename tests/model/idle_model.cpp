// Models of the idle set (runtime/detail/idle.hpp), "notify vs park": a worker that found
// nothing parks (idle::park, then a second look at the injection queue) while another thread
// pushes a task into the injection queue and notifies (idle::worker_to_notify). The idle set
// and the injection queue run as they are; a worker's reactor is a counter (an eventfd: an
// unpark adds to it, the sleeper's wake-up takes it). A worker loops: take a task, else park and sleep
// until unparked. Whoever takes the task stops the model and unparks everyone. Checked:
//  - no lost wake-up: a worker sleeps on the queued task only until someone runs it (a lost
//    wake-up leaves every thread waiting, which the explorer reports as a deadlock);
//  - the task runs exactly once.
// Negative controls: a notifier whose first look at the state is relaxed may read it from
// before the parker left the unparked count while the parker misses the push, and a parker
// that does not look again after joining the sleeper list; both lose the wake-up.

#include <doctest/doctest.h>

#include <string>

#include "model/checks.hpp"
#include "model/explorer.hpp"
#include "model/queue_models.hpp"
#include "runtime/detail/idle.hpp"
#include "runtime/detail/inject_queue.hpp"

namespace {

namespace model = corio::model;
using corio::detail::atomic;
using corio::detail::task_header;

struct variant {
  std::memory_order look = std::memory_order_seq_cst;  // the notifier's first look
  bool second_look = true;                             // the parker looks again after parking
};

struct idle_system {
  static constexpr std::uint32_t max_workers = 2;
  corio::detail::idle idle;
  corio::detail::inject_queue queue;
  atomic<int> unparked[max_workers] = {0, 0};  // each worker's reactor
  atomic<int> stop{0};
  model::item_pool<task_header, 1>& tasks;
  variant v;

  idle_system(std::uint32_t workers, model::item_pool<task_header, 1>& t, variant var) : idle(workers), tasks(t), v(var) {}

  void notify(std::memory_order look) {
    if (auto w = idle.worker_to_notify(look)) unparked[*w].fetch_add(1, std::memory_order_release);
  }

  // The pusher: a wake from a thread that is not a worker.
  void push_and_notify() {
    queue.push(tasks.item(0));
    notify(v.look);
  }

  // worker::run and worker::park, reduced to the queue, the idle set and the reactor.
  void worker(std::uint32_t i, bool searching, std::uint32_t workers) {
    for (;;) {
      if (task_header* t = queue.pop()) {
        tasks.taken(t);
        stop.store(1, std::memory_order_release);
        for (std::uint32_t j = 0; j < workers; ++j) unparked[j].fetch_add(1, std::memory_order_release);
        return;
      }
      if (stop.load(std::memory_order_acquire)) return;
      bool pending = idle.park(i, searching, [&](bool) { return v.second_look && !queue.empty(); });
      if (pending) notify(std::memory_order_seq_cst);
      while (unparked[i].exchange(0, std::memory_order_acquire) == 0) corio::detail::spin_loop_hint();  // asleep
      if (stop.load(std::memory_order_acquire)) return;
      searching = idle.unpark_self(i);
    }
  }
};

// One worker parking against a pusher.
model::result one_worker(const char* name, variant v) {
  model::item_pool<task_header, 1> tasks;
  return model::explore(name, {}, [&] {
    tasks.reset();
    idle_system s(1, tasks, v);
    model::thread([&] { s.worker(0, false, 1); });
    model::thread([&] { s.push_and_notify(); });
    model::run_threads();
    tasks.check_each_once(1);
  });
}

// Two workers: one not searching, and the only searcher, which parks as the last searcher
// (the pusher, seeing it search, wakes nobody and relies on its second look).
model::result two_workers(const char* name, variant v) {
  model::item_pool<task_header, 1> tasks;
  return model::explore(name, {}, [&] {
    tasks.reset();
    idle_system s(2, tasks, v);
    model::check(s.idle.transition_to_searching(), "one of two workers may search");
    model::thread([&] { s.worker(1, true, 2); });
    model::thread([&] { s.worker(0, false, 2); });
    model::thread([&] { s.push_and_notify(); });
    model::run_threads();
    tasks.check_each_once(1);
  });
}

}  // namespace

TEST_SUITE("model.idle") {
  TEST_CASE("notify vs park: one worker parking against a push from another thread") {
    model::check_passes(one_worker("idle: 1 worker parks vs push+notify", {}));
  }
  TEST_CASE("notify vs park: the last searcher parks while a push sees it searching") {
    model::check_passes(two_workers("idle: last searcher parks vs push+notify", {}), 100);
  }
  TEST_CASE("negative: a relaxed first look of the notifier loses the wake-up") {
    auto r = one_worker("idle: relaxed notifier look (must fail)", {std::memory_order_relaxed, true});
    REQUIRE(r.failed);
    CHECK(r.failure.find("deadlock") != std::string::npos);
    MESSAGE("the explorer's counterexample:\n" << r.failure);
  }
  TEST_CASE("negative: a parker that does not look again after parking loses the wake-up") {
    auto r = two_workers("idle: no second look (must fail)", {std::memory_order_seq_cst, false});
    REQUIRE(r.failed);
    CHECK(r.failure.find("deadlock") != std::string::npos);
  }
}
