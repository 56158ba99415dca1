// Models of the task state word (runtime/detail/task_header.hpp) through the very transitions
// the scheduler and join handles use (runtime/detail/task_transitions.hpp, and the join slot's
// register/unregister/wake of runtime/detail/join_slot.hpp, run as they are with a fake task
// as the joiner's waker), with the side effects of scheduler.cpp re-enacted around them and
// counted:
//  - the task is polled by at most one thread at a time, and queued at most once;
//  - the frame is destroyed exactly once, the header freed exactly once (when the last
//    reference goes), the outcome destroyed exactly once;
//  - a join waiter is woken exactly once if it stayed registered, else its waker is dropped;
//  - a wake after completion only drops its reference.
// "Queueing" hands the task to the thread that decided to queue it, which then polls it at
// once (standing for whichever worker picks it up): two queueings at the same time would be
// two concurrent polls, which the model reports.

#include <doctest/doctest.h>

#include "model/explorer.hpp"
#include "model/fake_runtime.hpp"
#include "runtime/detail/join_slot.hpp"
#include "runtime/detail/task_transitions.hpp"

namespace {

namespace model = corio::model;
namespace ts = corio::detail::task_state;
namespace tt = corio::detail::task_transition;
namespace join_slot = corio::detail::join_slot;
using corio::detail::atomic;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;

using wake_fn = tt::wake_result (*)(tt::word&);

// One task and what has happened to it. Counters are the oracle (plain memory outside the
// model); `join_waiter` and `outcome` stand for the header's plain fields and are race-checked;
// `joiner` is the task awaiting the handle (its waker's wakes and drops are counted).
struct task {
  explicit task(std::uint64_t initial, wake_fn w) : state(initial), wake_impl(w) {}

  atomic<std::uint64_t> state;
  model::cell<corio::detail::task_header*> join_waiter{nullptr};  // the join slot's field
  model::fake_task joiner;
  model::cell<int> outcome{0};      // the result slot
  model::cell<int> frame{1};        // the root frame's memory
  atomic<int> mailbox{0};           // a waker handed out by the first poll: 0 none yet, 1 one, 2 never
  atomic<int> run_queue{0};         // stands for the run queue's own synchronisation
  wake_fn wake_impl;
  int polls_to_finish = 1;  // the body finishes on this poll (earlier polls suspend with a waker)

  int running = 0, polls = 0, queued = 0;
  int frames_destroyed = 0, headers_freed = 0, outcomes_destroyed = 0, outcomes_made = 0;

  void free_header(std::uint64_t s) {
    ++headers_freed;
    model::check(headers_freed == 1, "header freed twice");
    if (s & ts::output) destroy_outcome();
  }
  void destroy_outcome() {
    outcome.set(0, "outcome destroyed");
    ++outcomes_destroyed;
    model::check(outcomes_destroyed == 1, "outcome destroyed twice");
  }
  void drop_ref() {
    std::uint64_t prev;
    if (tt::drop_ref(state, prev)) free_header(prev);
  }
  void destroy_frame() {
    frame.set(0, "frame destroyed");
    ++frames_destroyed;
    model::check(frames_destroyed == 1, "frame destroyed twice");
  }
  // scheduler.cpp's notify_join, for a joiner's waker (not a join helper's listener).
  void notify_join(std::uint64_t ns) { join_slot::wake_joiner(ns, model::join_waker_cell{join_waiter}); }

  // Queue the task: the caller now plays the worker that picks it up.
  void push_and_run() {
    ++queued;
    model::check(queued == 1, "task queued twice");
    run_queue.fetch_add(1, std::memory_order_acq_rel);  // in the queue until a worker takes it
    --queued;
    poll();
  }

  // worker::poll / release_running / cancel and scheduler::complete / finish_cancelled.
  void poll() {
    std::uint64_t s = tt::begin_poll(state);
    if (s & ts::cancelled) return cancel();
    ++running;
    model::check(running == 1, "task polled by two threads at once");
    ++polls;
    model::check(frame.get("frame resumed") == 1, "a destroyed frame resumed");
    bool done = polls >= polls_to_finish;
    if (!done && polls == 1) {  // suspends, handing a waker to the waker thread
      state.fetch_add(ts::ref_one, std::memory_order_relaxed);  // make_waker: add_ref
      mailbox.store(1, release);
      mailbox.load(std::memory_order_relaxed);  // the rest of the poll: the wake may come now
    }
    --running;
    if (done) return complete();
    switch (tt::release_running(state, false)) {
      case tt::after_poll::cancel: return cancel();
      case tt::after_poll::requeue: return push_and_run();
      case tt::after_poll::idle: return;
    }
  }
  void complete() {
    outcome.set(42, "outcome stashed");  // the result slot, then the frame goes
    ++outcomes_made;
    destroy_frame();
    std::uint64_t ns = tt::complete(state, true);
    if (!(ns & ts::join_interest)) destroy_outcome();  // detached: nobody reads it
    if (ns & ts::join_waiter) notify_join(ns);
    drop_ref();  // the owner's
  }
  void cancel() {
    destroy_frame();
    if (mailbox.load(std::memory_order_relaxed) == 0) mailbox.store(2, release);  // no waker will come
    std::uint64_t ns = tt::finish_cancelled(state);
    if (ns & ts::join_waiter) notify_join(ns);
    drop_ref();
  }

  // detail::wake and abort_task.
  void wake() {
    tt::wake_result r = wake_impl(state);
    if (r.push) push_and_run();
    if (r.free) free_header(r.state);
  }
  void abort() {
    if (tt::abort(state)) push_and_run();
  }

  // join_register / join_unregister (join_handle.cpp: the join slot's) / join_release.
  bool join_register() {
    ++joiner.wakers;  // make_waker
    return join_slot::register_waker(state, model::join_waker_cell{join_waiter}, &joiner);
  }
  void join_unregister() { join_slot::unregister_waker(state, model::join_waker_cell{join_waiter}); }
  void join_release() {
    std::uint64_t ns = tt::join_release(state, [&] { destroy_outcome(); });
    if (ts::refs(ns) == 0) free_header(ns);
  }
  void read_outcome_if_complete() {
    std::uint64_t s = state.load(acquire);
    if ((s & ts::complete) && (s & ts::output))
      model::check(outcome.get("outcome read by the handle") == 42, "the outcome");
  }

  void check_end(bool joined) {
    std::uint64_t s = state.load(std::memory_order_relaxed);
    model::check(s & ts::complete, "the task completed");
    model::check(frames_destroyed == 1, "frame destroyed exactly once");
    model::check(headers_freed == 1, "header freed exactly once");
    model::check(ts::refs(s) == 0, "no reference left");
    model::check(outcomes_destroyed == outcomes_made, "every outcome destroyed");
    if (joined) model::check(joiner.wakers == 1 && joiner.balanced(), "the join waker woken or dropped exactly once");
  }
};

// A suspended task with one waker out and a join handle; threads: the waker, an abort, and a
// joiner that registers (and maybe unregisters), then drops its handle.
model::result wake_abort_join(const char* name, bool unregister, wake_fn w) {
  return model::explore(name, {}, [&] {
    task t(ts::join_interest | 3 * ts::ref_one, w);  // owner + waker + handle; idle
    t.mailbox.store(2, std::memory_order_relaxed);
    model::thread([&] { t.wake(); });
    model::thread([&] { t.abort(); });
    bool registered = false;
    model::thread([&] {
      registered = t.join_register();
      if (unregister && registered) t.join_unregister();
      t.read_outcome_if_complete();
      t.join_release();
    });
    model::run_threads();
    t.check_end(true);
    if (registered && !unregister) model::check(t.joiner.wakes == 1, "the registered joiner woken");
  });
}

// A task just spawned (queued `running`), polled by one worker: its first poll suspends and
// hands a waker to the waker thread, which wakes it (possibly while the poll is still on); the
// second poll finishes. Meanwhile the handle is awaited and dropped, and maybe abort() comes.
model::result poll_wake_complete(const char* name, bool with_abort, wake_fn w) {
  return model::explore(name, {}, [&] {
    task t(ts::running | ts::join_interest | 2 * ts::ref_one, w);  // owner + handle
    t.polls_to_finish = 2;
    model::thread([&] { t.poll(); });
    model::thread([&] {
      int m;
      while ((m = t.mailbox.load(acquire)) == 0) corio::detail::spin_loop_hint();
      if (m == 1) t.wake();
    });
    model::thread([&] {
      if (with_abort) t.abort();
      t.join_register();
      t.join_release();
    });
    model::run_threads();
    t.check_end(true);
  });
}

// A wake that forgets that a running task is re-queued by its worker: it queues the task even
// while it runs. The model must catch it.
tt::wake_result broken_wake(tt::word& state) {
  std::uint64_t s = state.load(acquire);
  for (;;) {
    bool push = !(s & (ts::complete | ts::notified));  // BUG: ignores `running`
    std::uint64_t ns = (s & (ts::complete | ts::notified)) ? s - ts::ref_one : (s | ts::notified) - ts::ref_one;
    if (state.compare_exchange_weak(s, ns, std::memory_order_acq_rel, acquire))
      return {push, !push && ts::refs(ns) == 0, ns};
  }
}

}  // namespace

TEST_SUITE("model.task_state") {
  TEST_CASE("wake, abort and a joiner racing on a suspended task") {
    auto r = wake_abort_join("task state: wake/abort/join", false, tt::wake);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("wake, abort and a joiner that unregisters") {
    auto r = wake_abort_join("task state: wake/abort/join-unregister", true, tt::wake);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("a wake during the poll, completion, join and handle drop") {
    auto r = poll_wake_complete("task state: poll/wake/complete/join", false, tt::wake);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("the same with an abort racing the poll") {
    auto r = poll_wake_complete("task state: poll/wake/abort/complete/join", true, tt::wake);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("negative: a wake that queues a running task is caught") {
    auto r = poll_wake_complete("task state, broken wake (must fail)", false, broken_wake);
    REQUIRE(r.failed);
    CHECK(r.failure.find("check failed") != std::string::npos);  // polled twice at once, or after completion
    MESSAGE("the explorer's counterexample:\n" << r.failure);
  }
}
