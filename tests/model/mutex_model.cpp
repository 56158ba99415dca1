// Models of the async mutex's lock (sync/detail/mutex_core.hpp, .cpp, compiled into this
// binary under the shim): lockers on the fast path, spinning, queueing and being handed the
// lock, one of them cancelled while it waits. Mutual exclusion holds (a race-checked cell
// written in the critical section, and a counter), the lock is never lost or leaked (free at
// the end), every waker is woken or dropped exactly once, and a cancelled waiter that had
// already been handed the lock passes it on.

#include <doctest/doctest.h>

#include "model/fake_runtime.hpp"
#include "sync/detail/mutex_core.cpp"  // NOLINT: the real contended paths, under the shim

namespace {

namespace model = corio::model;
using corio::detail::mutex_core;
using corio::detail::wait_state;

struct world {
  mutex_core m;
  model::cell<int> guarded{0};
  int inside = 0, entered = 0;
  model::fake_task tasks[4];

  void critical_section() {
    ++inside;
    model::check(inside == 1, "two holders at once");
    guarded.set(guarded.get("guarded read") + 1, "guarded write");
    model::check(m.is_locked(), "locked while held");  // a scheduling point inside
    --inside;
    ++entered;
  }

  // As corio::mutex's lock awaitable: try, then lock or queue; a queued task resumes once
  // woken and finds itself granted. A `cancelled` one is destroyed while it waits instead.
  bool lock(int me, bool cancelled) {
    model::set_fake_task(me, &tasks[me]);
    mutex_core::waiter w;
    if (m.try_lock() || m.lock_or_enqueue(w, {}, nullptr, "model lock")) return true;
    if (cancelled) {
      w.outcome();  // some time passes; the lock may be handed over
      if (w.must_abandon()) m.abandon(w);  // ~mutex_lock_awaitable
      return false;
    }
    tasks[me].wait();
    model::check(w.outcome() == wait_state::handed, "woken with the lock");
    w.consume();
    return true;
  }
  void locker(int me, bool cancelled) {
    if (lock(me, cancelled)) {
      critical_section();
      m.unlock();
    }
  }
  void check_end(int must_enter) {
    model::check(entered >= must_enter, "every locker that was not cancelled got the lock");
    model::check(m.try_lock(), "the lock is free at the end");
    for (auto& t : tasks) model::check(t.balanced(), "every waker woken or dropped once");
  }
};

}  // namespace

TEST_SUITE("model.mutex") {
  TEST_CASE("three lockers: exclusion, FIFO hand-off, nothing lost") {
    auto r = model::explore("mutex: 3 lockers", {}, [&] {
      world w;
      for (int i = 1; i <= 3; ++i) model::thread([&w, i] { w.locker(i, false); });
      model::run_threads();
      w.check_end(3);
    });
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("a waiter cancelled while queued or after being handed the lock") {
    auto r = model::explore("mutex: lock/unlock with a cancelled waiter", {}, [&] {
      world w;
      model::thread([&w] { w.locker(1, false); });
      model::thread([&w] { w.locker(2, true); });
      model::thread([&w] { w.locker(3, false); });
      model::run_threads();
      w.check_end(2);
    });
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
}
