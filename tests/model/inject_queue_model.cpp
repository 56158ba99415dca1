// Models of the injection queue (runtime/detail/inject_queue.hpp): pushes from outside the
// workers race a worker's pops (which look at `size_` without the lock first) and shutdown's
// close(); every accepted task comes out exactly once, a refused one never.

#include <doctest/doctest.h>

#include "model/queue_models.hpp"
#include "runtime/detail/inject_queue.hpp"

namespace {
namespace model = corio::model;
using corio::detail::task_header;
}  // namespace

TEST_SUITE("model.inject_queue") {
  TEST_CASE("two pushers and a popper: each task once") {
    model::item_pool<task_header, 4> tasks;
    auto r = model::explore("inject queue: 2 pushers vs popper", {}, [&] {
      tasks.reset();
      corio::detail::inject_queue q;
      model::thread([&] { q.push(tasks.item(0)); });
      model::thread([&] {
        task_header* both[2] = {tasks.item(1), tasks.item(2)};
        q.push(both, 2);
      });
      model::thread([&] {
        task_header* out[2];
        for (int i = 0; i < 2; ++i) {
          std::size_t n = q.pop(out, 2);
          for (std::size_t k = 0; k < n; ++k) tasks.taken(out[k]);
        }
      });
      model::run_threads();
      while (task_header* t = q.pop()) tasks.taken(t);
      tasks.check_each_once(3);
    });
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }

  TEST_CASE("close against push and pop: accepted tasks come out once, refused ones never") {
    model::item_pool<task_header, 4> tasks;
    auto r = model::explore("inject queue: close vs push/pop", {}, [&] {
      tasks.reset();
      corio::detail::inject_queue q;
      q.push(tasks.item(0));
      bool accepted = false;
      model::thread([&] { accepted = q.push(tasks.item(1)); });
      model::thread([&] {
        if (task_header* t = q.pop()) tasks.taken(t);
      });
      model::thread([&] {
        for (task_header* t : q.close()) tasks.taken(t);
      });
      model::run_threads();
      model::check(q.pop() == nullptr && q.empty(), "closed and drained");
      if (!accepted) tasks.taken(tasks.item(1));  // refused: the pusher keeps it
      tasks.check_each_once(2);
    });
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 100);
  }
}
