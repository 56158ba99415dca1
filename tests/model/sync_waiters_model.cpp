// Models of the waiter hand-off in the primitives whose awaitables used to read their node's
// state relaxed when destroyed: semaphore, countdown (latch, wait_group), barrier,
// cancellation_token and once_core (once_cell). Their real .cpp files are compiled into this
// translation unit under the shim, as mutex_model.cpp does for the mutex.
//
// The protocol is the one of sync/detail/waiter.hpp: the releaser takes the node out of the
// queue under the primitive's lock, moves its waker out, then stores the outcome (release).
// A task cancelled while it waits runs its awaitable's destructor: it loads the state and,
// if the node is still queued, leaves the queue under the lock (abandon); otherwise it does not
// lock and simply lets the node go, whose ~waker reads the waker word. That read must be
// ordered after the releaser's move-out, hence the acquire. Under CORIO_MODEL_CHECK the waker
// word is a model::cell, so the explorer reports a data race when it is not; each model runs the
// destructor's load as the awaitable does (acquire) and, as a negative control, relaxed (must
// fail with a data race). Every waker must also be woken or dropped exactly once.

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "model/fake_runtime.hpp"
// The real code, under the shim (NOLINT: .cpp files included on purpose).
#include "sync/barrier.cpp"              // NOLINT
#include "sync/cancellation_token.cpp"   // NOLINT
#include "sync/detail/countdown.cpp"     // NOLINT
#include "sync/detail/once_core.cpp"     // NOLINT
#include "sync/semaphore.cpp"            // NOLINT

namespace corio::detail {
/// The private parts of semaphore and barrier the models drive (they are friends of it).
struct model_access {
  using sem_waiter = semaphore::waiter;
  /// -1: closed, 0: queued, 1: granted at once.
  static int sem_acquire_or_enqueue(semaphore& s, sem_waiter& w) {
    switch (s.acquire_or_enqueue(w, {}, nullptr, "model acquire")) {
      case semaphore::outcome::closed:
        return -1;
      case semaphore::outcome::queued:
        return 0;
      case semaphore::outcome::granted:
        break;
    }
    return 1;
  }
  static void sem_abandon(semaphore& s, sem_waiter& w) { s.abandon(w); }
  static void sem_release(semaphore& s, std::size_t n) { s.release(n); }

  using bar_waiter = barrier::waiter;
  static bool bar_arrive(barrier& b, bar_waiter& w) { return b.arrive(w, {}, nullptr, "model arrive"); }
  static void bar_abandon(barrier& b, bar_waiter& w) { b.abandon(w); }
};
}  // namespace corio::detail

namespace {

namespace model = corio::model;
using corio::detail::model_access;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto relaxed = std::memory_order_relaxed;

/// The order the destructor under test loads its node's state with.
std::memory_order dtor_order(bool broken_relaxed) { return broken_relaxed ? relaxed : acquire; }

// countdown (latch::wait, wait_group::wait): a waiter cancelled while the count reaches zero.
model::result countdown_model(const char* name, bool broken_relaxed) {
  return model::explore(name, {}, [broken_relaxed] {
    using corio::detail::countdown;
    countdown c(1);
    model::fake_task t;
    model::thread([&] {
      model::set_fake_task(1, &t);
      countdown::waiter w;
      if (c.wait_or_enqueue(w, {}, nullptr, "model wait")) return;
      w.state_.load(relaxed);  // some time passes: the round may end
      // ~countdown_awaitable
      if (w.state_.load(dtor_order(broken_relaxed)) == countdown::waiter::state::waiting) c.abandon(w);
    });  // ~waiter: the waker word is read
    model::thread([&] { c.sub(1, "model sub"); });
    model::run_threads();
    model::check(t.balanced(), "every waker woken or dropped once");
    model::check(c.count() == 0, "the count reached zero");
  });
}

// semaphore: a queued acquire of `wanted` permits cancelled while one permit is released and the
// semaphore closed (wanted 1: it may be granted first; wanted 2: it is still waiting, holding
// the permit it collected, when close() wakes it).
model::result semaphore_model(const char* name, std::size_t wanted, bool broken_relaxed) {
  return model::explore(name, {}, [wanted, broken_relaxed] {
    using state = model_access::sem_waiter::state;
    corio::semaphore s(0);
    model::fake_task t;
    model::thread([&] {
      model::set_fake_task(1, &t);
      model_access::sem_waiter w;
      w.wanted = wanted;
      switch (model_access::sem_acquire_or_enqueue(s, w)) {
        case 1:
          model_access::sem_release(s, wanted);  // granted at once: the permit is dropped
          return;
        case -1:
          return;
      }
      w.state_.load(relaxed);  // some time passes: granted, closed, or still waiting
      // ~semaphore_acquire_awaitable
      state st = w.state_.load(dtor_order(broken_relaxed));
      if (st == state::waiting || st == state::granted) model_access::sem_abandon(s, w);
    });
    model::thread([&] {
      model_access::sem_release(s, 1);
      s.close();
    });
    model::run_threads();
    model::check(t.balanced(), "every waker woken or dropped once");
    model::check(s.available_permits() == 1, "the released permit is back (the acquire was cancelled)");
  });
}

// barrier: two participants, each cancelled if it has to wait; whoever arrives second leads.
model::result barrier_model(const char* name, bool broken_relaxed) {
  return model::explore(name, {}, [broken_relaxed] {
    using state = model_access::bar_waiter::state;
    corio::barrier b(2);
    model::fake_task t[3];
    auto participant = [&](int me) {
      model::set_fake_task(me, &t[me]);
      model_access::bar_waiter w;
      if (model_access::bar_arrive(b, w)) return;  // the leader
      w.state_.load(relaxed);  // some time passes: the other may arrive and lead
      // ~barrier_wait_awaitable
      if (w.state_.load(dtor_order(broken_relaxed)) == state::waiting) model_access::bar_abandon(b, w);
    };
    model::thread([&] { participant(1); });
    model::thread([&] { participant(2); });
    model::run_threads();
    for (auto& x : t) model::check(x.balanced(), "every waker woken or dropped once");
  });
}

// cancellation_token: a cancelled() waiter dropped while the token is cancelled.
model::result cancellation_model(const char* name, bool broken_relaxed) {
  return model::explore(name, {}, [broken_relaxed] {
    using corio::detail::cancel_state;
    using state = cancel_state::waiter::state;
    auto s = std::make_shared<cancel_state>();
    model::fake_task t;
    model::thread([&] {
      model::set_fake_task(1, &t);
      cancel_state::waiter w;
      if (!s->wait_or_enqueue(w, {}, nullptr, "model cancelled")) return;
      w.state_.load(relaxed);  // some time passes: the token may be cancelled
      // ~cancelled_awaitable
      if (w.state_.load(dtor_order(broken_relaxed)) == state::waiting) s->abandon(w);
    });
    model::thread([&] { s->cancel(); });
    model::run_threads();
    model::check(t.balanced(), "every waker woken or dropped once");
    model::check(s->cancelled(), "cancelled");
  });
}

// once_core: a get_or_init waiter dropped while the initialiser succeeds (or fails, handing it
// the initialiser's role, which it must pass on: the cell ends empty, not stuck initializing).
model::result once_model(const char* name, bool succeed, bool broken_relaxed) {
  return model::explore(name, {}, [succeed, broken_relaxed] {
    using corio::detail::once_core;
    using state = once_core::waiter::state;
    once_core c;
    model::check(c.try_begin(), "the first caller initialises");
    model::fake_task t;
    model::thread([&] {
      model::set_fake_task(1, &t);
      once_core::waiter w;
      switch (c.begin(w, {}, "model get_or_init")) {
        case state::waiting:
          break;
        case state::initialize:  // the first initialiser already failed: this one fails too
          c.fail();
          return;
        default:
          return;
      }
      w.state_.load(relaxed);  // some time passes
      // ~begin_awaitable
      state st = w.state_.load(dtor_order(broken_relaxed));
      if (st == state::waiting || st == state::initialize) c.abandon(w);
    });
    model::thread([&] {
      if (succeed)
        c.succeed();
      else
        c.fail();
    });
    model::run_threads();
    model::check(t.balanced(), "every waker woken or dropped once");
    model::check(c.ready() == succeed, "ready after success only");
    if (!succeed) model::check(c.try_begin(), "after a failure nobody is left initialising");
  });
}

void check_passes(const model::result& r) {
  CHECK_MESSAGE(!r.failed, r.failure);
  CHECK(r.executions > 10);
}
void check_races(const model::result& r) {
  REQUIRE(r.failed);
  CHECK(r.failure.find("data race") != std::string::npos);
  MESSAGE("the explorer's counterexample:\n" << r.failure);
}

}  // namespace

TEST_SUITE("model.sync_waiters") {
  TEST_CASE("countdown: a waiter cancelled while the count reaches zero") {
    check_passes(countdown_model("countdown: cancelled wait vs sub", false));
  }
  TEST_CASE("negative: countdown's destructor reading the state relaxed races with the release") {
    check_races(countdown_model("countdown, destructor reads relaxed (must fail)", true));
  }
  TEST_CASE("semaphore: an acquire cancelled while permits are released and it is closed") {
    check_passes(semaphore_model("semaphore: cancelled acquire(1) vs release + close", 1, false));
    check_passes(semaphore_model("semaphore: cancelled acquire(2) vs release + close", 2, false));
  }
  TEST_CASE("negative: semaphore's destructor reading the state relaxed races with close") {
    check_races(semaphore_model("semaphore, destructor reads relaxed (must fail)", 2, true));
  }
  TEST_CASE("barrier: two participants, each cancelled if it has to wait") {
    check_passes(barrier_model("barrier: 2 cancellable participants", false));
  }
  TEST_CASE("negative: barrier's destructor reading the state relaxed races with the leader") {
    check_races(barrier_model("barrier, destructor reads relaxed (must fail)", true));
  }
  TEST_CASE("cancellation_token: a cancelled() waiter dropped while the token is cancelled") {
    check_passes(cancellation_model("cancellation_token: dropped wait vs cancel", false));
  }
  TEST_CASE("negative: cancelled_awaitable's destructor reading the state relaxed races with cancel") {
    check_races(cancellation_model("cancellation_token, destructor reads relaxed (must fail)", true));
  }
  TEST_CASE("once_core: a waiter dropped while the initialiser succeeds, or fails and hands it the role") {
    check_passes(once_model("once_core: dropped wait vs succeed", true, false));
    check_passes(once_model("once_core: dropped wait vs fail", false, false));
  }
  TEST_CASE("negative: once_core's destructor reading the state relaxed races with succeed") {
    check_races(once_model("once_core, destructor reads relaxed (must fail)", true, true));
  }
}
