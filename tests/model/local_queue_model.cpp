// Models of a worker's run queue (runtime/detail/local_queue.hpp): the owner pushes (spilling
// half to the injection queue when full) and pops while another worker steals half into its
// own queue; every task must come out exactly once, through a pop, a steal or the overflow.

#include <doctest/doctest.h>

#include "model/queue_models.hpp"
#include "runtime/detail/local_queue.hpp"

namespace {

namespace model = corio::model;
using corio::detail::task_header;
using queue = corio::detail::local_queue<4>;

model::result run(const char* name, int prefilled, int pushes, int pops, int steals) {
  model::item_pool<task_header, 8> tasks;
  return model::explore(name, {}, [&] {
    tasks.reset();
    queue q, dst;
    auto overflow = [&](task_header* const* ts, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) tasks.taken(ts[i]);
    };
    int next = 0;
    for (; next < prefilled; ++next) q.push_back(tasks.item(next), overflow);
    model::thread([&] {
      for (int i = 0; i < pushes; ++i) q.push_back(tasks.item(prefilled + i), overflow);
      for (int i = 0; i < pops; ++i)
        if (task_header* t = q.pop()) tasks.taken(t);
    });
    model::thread([&] {
      for (int i = 0; i < steals; ++i)
        if (task_header* t = q.steal_into(dst)) {
          tasks.taken(t);
          while (task_header* u = dst.pop()) tasks.taken(u);  // the thief runs what it stole
        }
    });
    model::run_threads();
    while (task_header* t = q.pop()) tasks.taken(t);
    while (task_header* t = dst.pop()) tasks.taken(t);
    tasks.check_each_once(static_cast<std::size_t>(prefilled + pushes));
  });
}

}  // namespace

TEST_SUITE("model.local_queue") {
  TEST_CASE("push and pop against a stealer: each task once") {
    auto r = run("local queue: push/pop vs steal", 2, 1, 2, 1);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("overflow to the injection queue against a stealer: each task once") {
    auto r = run("local queue: overflow vs steal", 3, 2, 1, 1);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("two steals in a row against pops") {
    auto r = run("local queue: pops vs two steals", 3, 0, 2, 2);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
}
