// Models of the wait queue (runtime/detail/wait_queue.hpp): its real functions under the
// atomics shim, driven by the smallest primitive that uses every part of the protocol - a
// gate whose waiters are either handed a token (one at a time, FIFO) or all let through once
// it opens. Each waiter is a fake task (fake_runtime.hpp); a cancelled one runs what an
// awaitable's destructor runs: must_abandon(), then the gate's abandon.
//
// Checked:
//  - enqueue vs release_while: every waiter is released exactly once, in batches (a batch is
//    one waker under CORIO_MODEL_CHECK, so two waiters take a re-lock);
//  - abandon vs release: a waiter dropped while it is let through leaves the queue or lets its
//    node go, and its waker is woken or dropped exactly once; the same for waiters moved onto a
//    detached queue (detach_into, as notify_all does) while they leave;
//  - hand-off on a cancelled hand-off: a waiter handed the token and dropped before it resumes
//    passes the token on; the waiter that stays gets it, nothing is lost or duplicated.
// The waker word is a race-checked cell, so a node let go without acquiring the releaser's
// store is a data race. Negative control: the destructor's read done relaxed instead of
// acquire (as several primitives' destructors did before they shared this code) must fail.
//
// The primitives' own rules on top of the queue are modelled in mutex_model.cpp,
// mpsc_model.cpp and sync_waiters_model.cpp.

#include <doctest/doctest.h>

#include <mutex>
#include <string>

#include "model/checks.hpp"
#include "model/fake_runtime.hpp"
#include "runtime/detail/wait_queue.hpp"
#include "sync/detail/spin_lock.hpp"

namespace {

namespace model = corio::model;
using corio::detail::wait_node;
using corio::detail::wait_state;
using corio::detail::waker;

/// Tokens handed to the head waiter (handed), or every waiter let through once open (woken).
struct gate {
  corio::detail::spin_lock lock;
  corio::detail::wait_queue<wait_node> queue;
  int tokens = 0;
  bool open = false;

  /// True: through at once (open, or a token taken). False: `n` waits.
  bool pass_or_wait(wait_node& n, bool want_token) {
    std::lock_guard g(lock);
    if (open && !want_token) return true;
    if (want_token && tokens > 0 && queue.empty()) {
      --tokens;
      return true;
    }
    queue.enqueue(n, waker::for_waiter({}, nullptr, "model wait"));
    return false;
  }
  /// One token: to the head waiter, or kept.
  void give() {
    waker w;
    {
      std::lock_guard g(lock);
      if (wait_node* n = queue.front())
        w = queue.release(*n, wait_state::handed);
      else
        ++tokens;
    }
    w.wake();
  }
  /// Lets every waiter through.
  void open_all() {
    std::unique_lock l(lock);
    open = true;
    queue.release_while(l, [](wait_node&) { return wait_state::woken; });
  }
  /// Lets through every waiter present now, as notify_all does: they are detached first, and
  /// newcomers would wait for the next call.
  void release_present() {
    corio::detail::wait_queue<wait_node> now;
    std::unique_lock l(lock);
    queue.detach_into(now);
    now.release_while(l, [](wait_node&) { return wait_state::woken; });
  }
  /// The owner of `n` leaves before resuming; a token handed to it goes on.
  void abandon(wait_node& n) {
    wait_state s;
    {
      std::lock_guard g(lock);
      s = queue.abandon(n);
    }
    if (s == wait_state::handed) give();
  }
};

/// What a waiter ended with.
struct outcome {
  bool through = false;  // passed (at once, or released and resumed)
  bool token = false;    // holds a token at the end
};

/// One waiter on model thread `me`: waits (wants a token or the gate to open) and resumes once
/// woken, or (`cancelled`) is dropped after some time, with its destructor's read of the state
/// done acquire (as must_abandon) or, broken, relaxed.
outcome waiter(gate& g, model::fake_task& t, int me, bool want_token, bool cancelled, bool broken_relaxed = false) {
  model::set_fake_task(me, &t);
  outcome out;
  wait_node n;
  if (g.pass_or_wait(n, want_token)) {
    if (cancelled && want_token) {
      g.give();  // took it at once, then dropped: the token goes back
      return out;
    }
    out.through = true;
    out.token = want_token;
    return out;
  }
  if (!cancelled) {
    t.wait();  // suspended until its waker is woken
    wait_state s = n.outcome();
    model::check(s == (want_token ? wait_state::handed : wait_state::woken), "resumed with its outcome");
    n.consume();
    out.through = true;
    out.token = want_token;
    return out;
  }
  n.outcome();  // some time passes: it may be released meanwhile
  // ~awaitable
  bool abandon;
  if (broken_relaxed) {
    wait_state s = corio::detail::wait_node_access::relaxed_state(n);
    abandon = s == wait_state::waiting || s == wait_state::handed;
  } else {
    abandon = n.must_abandon();
  }
  if (abandon) g.abandon(n);
  return out;
}  // ~wait_node: the waker word is read (dropped if still there)

/// A gate, two waiters (model threads 1 and 2) and whatever releases them.
struct world {
  gate g;
  model::fake_task t[3];
  outcome o[3];

  /// Waiter `i` wants a token (or the gate to open); `cancelled`: dropped before it resumes.
  void spawn(int i, bool want_token, bool cancelled) {
    model::thread([this, i, want_token, cancelled] { o[i] = waiter(g, t[i], i, want_token, cancelled); });
  }
  /// Runs the threads, then checks what every model promises.
  void finish() {
    model::run_threads();
    for (auto& x : t) model::check(x.balanced(), "every waker woken or dropped once");
    model::check(g.queue.empty(), "nobody left queued");
  }
};

}  // namespace

TEST_SUITE("model.wait_queue") {
  TEST_CASE("enqueue vs release_while: two waiters let through, in batches") {
    model::check_passes(model::explore("wait queue: 2 waiters vs open", {}, [] {
      world w;
      w.spawn(1, false, false);
      w.spawn(2, false, false);
      model::thread([&] { w.g.open_all(); });
      w.finish();
      model::check(w.o[1].through && w.o[2].through, "every waiter let through");
    }));
  }
  TEST_CASE("abandon vs release: a waiter dropped while the gate opens") {
    model::check_passes(model::explore("wait queue: dropped waiter vs open", {}, [] {
      world w;
      w.spawn(1, false, true);
      w.spawn(2, false, false);
      model::thread([&] { w.g.open_all(); });
      w.finish();
      model::check(w.o[2].through, "the waiter that stayed is let through");
    }));
  }
  TEST_CASE("detach vs abandon: waiters dropped while a detached batch is released") {
    model::check_passes(model::explore("wait queue: 2 dropped waiters vs release_present", {}, [] {
      world w;
      w.spawn(1, false, true);
      w.spawn(2, false, true);
      model::thread([&] { w.g.release_present(); });
      w.finish();
    }));
  }
  TEST_CASE("hand-off on a cancelled hand-off: the token reaches the waiter that stays") {
    model::check_passes(model::explore("wait queue: token handed to a dropped waiter", {}, [] {
      world w;
      w.spawn(1, true, true);
      w.spawn(2, true, false);
      model::thread([&] { w.g.give(); });
      w.finish();
      model::check(w.o[2].token && !w.o[1].token, "the waiter that stayed holds the token");
      model::check(w.g.tokens == 0, "and it is the only one: none kept, none made up");
    }));
  }
  TEST_CASE("negative: a destructor reading the state relaxed races with the release") {
    auto r = model::explore("wait queue, destructor reads relaxed (must fail)", {}, [] {
      gate g;
      model::fake_task t;
      model::thread([&] { waiter(g, t, 1, false, true, true); });
      model::thread([&] { g.open_all(); });
      model::run_threads();
    });
    REQUIRE(r.failed);
    CHECK(r.failure.find("data race") != std::string::npos);
    MESSAGE("the explorer's counterexample:\n" << r.failure);
  }
}
