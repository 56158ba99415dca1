// Models of the primitives' own rules on top of the wait queue, for those whose waiters may be
// dropped while they are released: semaphore, countdown (latch, wait_group), barrier,
// cancellation_token and once_core (once_cell). Their real .cpp files are compiled into this
// translation unit under the shim, as mutex_model.cpp does for the mutex.
//
// The queue's protocol (runtime/detail/wait_queue.hpp) and its negative control (a destructor
// reading the state relaxed) are in wait_queue_model.cpp; each model here runs a waiter whose
// awaitable is destroyed after some time, as the awaitable's destructor does (must_abandon,
// then the primitive's abandon), against the primitive's release, and checks what the
// primitive promises: permits back, a round withdrawn, the initialiser's role passed on. The
// waker word is race-checked and every waker must be woken or dropped exactly once.

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "model/checks.hpp"
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

// countdown (latch::wait, wait_group::wait): a waiter cancelled while the count reaches zero.
model::result countdown_model(const char* name) {
  return model::explore(name, {}, [] {
    using corio::detail::countdown;
    countdown c(1);
    model::fake_task t;
    model::thread([&] {
      model::set_fake_task(1, &t);
      countdown::waiter w;
      if (c.wait_or_enqueue(w, {}, nullptr, "model wait")) return;
      w.outcome();  // some time passes: the round may end
      if (w.must_abandon()) c.abandon(w);  // ~countdown_awaitable
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
model::result semaphore_model(const char* name, std::size_t wanted) {
  return model::explore(name, {}, [wanted] {
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
      w.outcome();  // some time passes: granted, closed, or still waiting
      if (w.must_abandon()) model_access::sem_abandon(s, w);  // ~semaphore_acquire_awaitable
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
model::result barrier_model(const char* name) {
  return model::explore(name, {}, [] {
    corio::barrier b(2);
    model::fake_task t[3];
    auto participant = [&](int me) {
      model::set_fake_task(me, &t[me]);
      model_access::bar_waiter w;
      if (model_access::bar_arrive(b, w)) return;  // the leader
      w.outcome();  // some time passes: the other may arrive and lead
      if (w.must_abandon()) model_access::bar_abandon(b, w);  // ~barrier_wait_awaitable
    };
    model::thread([&] { participant(1); });
    model::thread([&] { participant(2); });
    model::run_threads();
    for (auto& x : t) model::check(x.balanced(), "every waker woken or dropped once");
  });
}

// cancellation_token: a cancelled() waiter dropped while the token is cancelled.
model::result cancellation_model(const char* name) {
  return model::explore(name, {}, [] {
    using corio::detail::cancel_state;
    auto s = std::make_shared<cancel_state>();
    model::fake_task t;
    model::thread([&] {
      model::set_fake_task(1, &t);
      cancel_state::waiter w;
      if (!s->wait_or_enqueue(w, {}, nullptr, "model cancelled")) return;
      w.outcome();  // some time passes: the token may be cancelled
      if (w.must_abandon()) s->abandon(w);  // ~cancelled_awaitable
    });
    model::thread([&] { s->cancel(); });
    model::run_threads();
    model::check(t.balanced(), "every waker woken or dropped once");
    model::check(s->cancelled(), "cancelled");
  });
}

// once_core: a get_or_init waiter dropped while the initialiser succeeds (or fails, handing it
// the initialiser's role, which it must pass on: the cell ends empty, not stuck initializing).
model::result once_model(const char* name, bool succeed) {
  return model::explore(name, {}, [succeed] {
    using corio::detail::once_core;
    using corio::detail::wait_state;
    once_core c;
    model::check(c.try_begin(), "the first caller initialises");
    model::fake_task t;
    model::thread([&] {
      model::set_fake_task(1, &t);
      once_core::waiter w;
      switch (c.begin(w, {}, "model get_or_init")) {
        case wait_state::waiting:
          break;
        case wait_state::handed:  // the first initialiser already failed: this one fails too
          c.fail();
          return;
        default:
          return;
      }
      w.outcome();  // some time passes
      if (w.must_abandon()) c.abandon(w);  // ~begin_awaitable
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

}  // namespace

TEST_SUITE("model.sync_waiters") {
  TEST_CASE("countdown: a waiter cancelled while the count reaches zero") {
    model::check_passes(countdown_model("countdown: cancelled wait vs sub"));
  }
  TEST_CASE("semaphore: an acquire cancelled while permits are released and it is closed") {
    model::check_passes(semaphore_model("semaphore: cancelled acquire(1) vs release + close", 1));
    model::check_passes(semaphore_model("semaphore: cancelled acquire(2) vs release + close", 2));
  }
  TEST_CASE("barrier: two participants, each cancelled if it has to wait") {
    model::check_passes(barrier_model("barrier: 2 cancellable participants"));
  }
  TEST_CASE("cancellation_token: a cancelled() waiter dropped while the token is cancelled") {
    model::check_passes(cancellation_model("cancellation_token: dropped wait vs cancel"));
  }
  TEST_CASE("once_core: a waiter dropped while the initialiser succeeds, or fails and hands it the role") {
    model::check_passes(once_model("once_core: dropped wait vs succeed", true));
    model::check_passes(once_model("once_core: dropped wait vs fail", false));
  }
}
