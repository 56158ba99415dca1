// Models of the branch-waker protocol of select/timeout (runtime/detail/branch_set.hpp), through
// the very transitions the driver uses (branch_transition::wake/take/park/unpark):
//  - every wake reaches the parent: a parent that parks is woken (else the explorer reports a
//    deadlock), and a bit set while it was running is seen before it parks;
//  - the parent is woken at most once per park, never while it runs (corio resumes a
//    coroutine exactly once per wake: a spurious wake would resume it twice);
//  - the token is read only after the parent wrote it (race-checked plain memory);
//  - the set is freed once, after the last reference (a waker racing the end of the select),
//    including when the driver frees it at once because a load showed no waker's reference.
// A negative control parks without looking at the ready bits and must deadlock.

#include <doctest/doctest.h>

#include "model/explorer.hpp"
#include "runtime/detail/branch_set.hpp"

namespace {

namespace model = corio::model;
namespace bt = corio::detail::branch_transition;
using corio::detail::atomic;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;
constexpr auto acq_rel = std::memory_order_acq_rel;

using park_fn = bool (*)(bt::word&);

// A park that forgets to look at the ready bits first (must fail: a lost wake).
bool broken_park(bt::word& w) {
  std::uint64_t s = w.load(acquire);
  while (!w.compare_exchange_weak(s, s | bt::parked, acq_rel, acquire)) {
  }
  return true;
}

// One select: the word, the parent's token (a plain field), the parent's wake count, and the
// references that keep the set alive (one per branch for the driver, one per waker).
struct select_model {
  bt::word word{0};
  model::cell<int> token{0};
  model::cell<int> set_memory{1};  // 0 once freed
  atomic<int> refs;
  atomic<int> wakes{0};  // parent wakes delivered (stands for the run queue)
  int parks = 0;
  int freed = 0;

  explicit select_model(int initial_refs) : refs(initial_refs) {}

  void drop_ref() {
    if (refs.fetch_sub(1, acq_rel) == 1) {
      set_memory.set(0, "set freed");
      ++freed;
      model::check(freed == 1, "set freed twice");
    }
  }
  // branch_set::release: the driver's `n` references at the end of the select. When a load
  // shows that no waker holds one, the set goes at once (no read-modify-writes).
  void release_all(int n) {
    if (refs.load(acquire) == n) {
      set_memory.set(0, "set freed at once");
      ++freed;
      model::check(freed == 1, "set freed twice");
      return;
    }
    for (int i = 0; i < n; ++i) drop_ref();
  }
  // branch_set::notify, then the waker's drop_ref.
  void waker(std::uint64_t bit) {
    model::check(set_memory.get("notify reads the set") == 1, "a wake touched a freed set");
    if (bt::wake(word, bit)) {
      model::check(token.get("token read by the waker") == 1, "the token a waker took");
      wakes.fetch_add(1, release);
    }
    drop_ref();
  }
  // The parent's suspension: store the token, park unless a bit came in; if parked, wait to
  // be woken (the explorer reports a deadlock if no waker comes).
  void suspend(park_fn park) {
    token.set(1, "token stored");
    if (!park(word)) {
      token.set(0, "token taken back");
      return;
    }
    ++parks;
    while (wakes.load(acquire) < parks) corio::detail::spin_loop_hint();
    model::check(wakes.load(acquire) == parks, "the parent woken twice for one park");
  }
};

// Two branches woken at once from two threads while the parent runs them and parks; then the
// select ends and drops its references while a waker may still hold one.
model::result two_wakers(const char* name, park_fn park) {
  return model::explore(name, {}, [&] {
    select_model m(2 + 2);  // the driver's two header references, one per waker
    std::uint64_t seen = 0;
    model::thread([&] {
      for (int round = 0; round < 4 && seen != 3; ++round) {
        seen |= bt::take(m.word);
        if (seen != 3) m.suspend(park);
      }
      model::check(seen == 3, "both wakes seen");
      model::check(!bt::unpark(m.word), "no token left parked at the end");
      m.release_all(2);
    });
    model::thread([&] { m.waker(1); });
    model::thread([&] { m.waker(2); });
    model::run_threads();
    model::check(m.freed == 1, "set freed exactly once");
    model::check(m.wakes.load(acquire) == m.parks, "one wake per park, none spurious");
  });
}

// The winner wakes and the select ends at once: the loser's waker was taken out of a wait list
// before the loser was destroyed and wakes it after (a detached branch: only the ref goes).
model::result late_waker(const char* name) {
  return model::explore(name, {}, [&] {
    select_model m(2 + 1);
    model::thread([&] {
      m.word.store(1, release);  // the winner's bit, set before; run and finished
      bt::take(m.word);
      m.release_all(2);  // select ends: the driver's references
    });
    model::thread([&] { m.waker(2); });
    model::run_threads();
    model::check(m.freed == 1, "set freed exactly once");
    model::check(m.wakes.load(acquire) == 0, "a detached branch's wake wakes nobody");
  });
}

// The parent is aborted while parked in the select with a loser whose cancellation waits for
// its operation; the operation completes (wakes the branch) while the worker runs the cancel
// hook: unpark (take the token back), ask the branch, park a token of its own, be woken, ask
// again. The worker thread stands for every poll of the cancelled task.
model::result abort_while_woken(const char* name) {
  return model::explore(name, {}, [&] {
    select_model m(1 + 1);
    m.token.set(1);
    m.word.store(bt::parked, release);  // parked in the select, the token stored
    m.parks = 1;
    atomic<int> hook_runs{0};
    model::thread([&] {
      bool done = false;
      int polls = 0;
      bt::unpark(m.word);  // take the token back, unless the waker already took it
      for (int round = 0; round < 4 && !done; ++round) {
        hook_runs.fetch_add(1, release);
        done = (bt::take(m.word) & 1) != 0;  // the branch's operation finished
        if (done) break;
        m.token.set(1, "hook token stored");
        if (!bt::park(m.word)) {
          m.token.set(0);
          continue;
        }
        ++polls;
        while (m.wakes.load(acquire) < polls) corio::detail::spin_loop_hint();
      }
      model::check(done, "the pending branch's completion reached the hook");
      model::check(!(m.word.load(acquire) & bt::parked), "no token left parked");
      m.release_all(1);
    });
    model::thread([&] { m.waker(1); });
    model::run_threads();
    model::check(m.freed == 1, "set freed exactly once");
  });
}

}  // namespace

TEST_SUITE("model.branch") {
  TEST_CASE("two branches woken at once while the parent runs and parks") {
    auto r = two_wakers("branch: two wakers", bt::park);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 100);
  }
  TEST_CASE("a wake racing the end of the select") {
    auto r = late_waker("branch: late waker");
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 10);
  }
  TEST_CASE("the parent aborted while a pending branch is woken") {
    auto r = abort_while_woken("branch: abort while woken");
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 10);
  }
  TEST_CASE("negative: a park that ignores the ready bits loses a wake") {
    auto r = two_wakers("branch: broken park (must fail)", broken_park);
    REQUIRE(r.failed);
    CHECK(r.failure.find("deadlock") != std::string::npos);
    MESSAGE("the explorer's counterexample:\n" << r.failure);
  }
}
