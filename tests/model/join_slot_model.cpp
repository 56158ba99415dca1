// Models of the join slot (runtime/detail/join_slot.hpp) as a blocking job uses it
// (runtime/detail/blocking_pool.cpp): the publisher stores the result, then sets `complete`
// with one fetch_or and wakes the waker its word showed, reporting the outcome itself when the
// word showed no `join_interest`; the joiner registers its waker (a fake task), maybe takes it
// back (its awaiter destroyed while suspended), reads the result once woken, and detaches.
// The slot's functions run as they are, with a race-checked cell as the waker field. Checked:
//  - the joiner's waker is woken or dropped exactly once, woken if it stayed registered;
//  - the result is read only after it was published (no data race on it or on the field);
//  - the outcome is reported by the publisher exactly when the handle went first.
// The task's use of the same slot is in task_state_model.cpp. Negative control: a register
// whose CAS is relaxed publishes the waker to nobody, and the explorer finds the data race.

#include <doctest/doctest.h>

#include <string>

#include "model/explorer.hpp"
#include "model/fake_runtime.hpp"
#include "runtime/detail/join_slot.hpp"

namespace {

namespace model = corio::model;
namespace join_slot = corio::detail::join_slot;
using corio::detail::atomic;
using corio::detail::task_header;
constexpr auto acq_rel = std::memory_order_acq_rel;

using register_fn = bool (*)(join_slot::word&, model::join_waker_cell, task_header*);

bool real_register(join_slot::word& state, model::join_waker_cell field, task_header* w) {
  return join_slot::register_waker(state, field, w);
}

// The register of join_slot.hpp with a relaxed CAS: the publisher that sees `join_waiter` has
// not acquired the store of the waker. The model must catch it.
bool relaxed_register(join_slot::word& state, model::join_waker_cell field, task_header* w) {
  field.put(w);
  std::uint64_t s = state.load(std::memory_order_relaxed);
  for (;;) {
    if (s & join_slot::complete) {
      field.take()->drop_ref();
      return false;
    }
    // BUG: relaxed
    if (state.compare_exchange_weak(s, s | join_slot::join_waiter, std::memory_order_relaxed, std::memory_order_relaxed))
      return true;
  }
}

// A blocking job's state word, its waker field and result, and what happened to them.
struct job {
  atomic<std::uint64_t> state{join_slot::join_interest};  // the handle exists
  model::cell<task_header*> waiter{nullptr};
  model::cell<int> result{0};
  model::fake_task joiner;
  int reported = 0;          // the publisher disposed of an outcome nobody would read
  bool detached_first = false;

  // blocking_job::finish (after invoke stored the result).
  void publish() {
    result.set(42, "result stored");
    std::uint64_t s = state.fetch_or(join_slot::complete, acq_rel);
    join_slot::wake_joiner(s, model::join_waker_cell{waiter});
    if (!(s & join_slot::join_interest)) ++reported;
  }
  // blocking_job::release_handle.
  void detach() {
    std::uint64_t s = state.fetch_and(~join_slot::join_interest, acq_rel);
    detached_first = !(s & join_slot::complete);
  }
};

// The publisher against a joiner that registers, then (unless `unregister`) waits to be woken
// and reads the result, or (with `unregister`) takes its waker back; then it detaches.
model::result join_slot_model(const char* name, bool unregister, register_fn reg) {
  return model::explore(name, {}, [&] {
    job j;
    bool registered = false, unregistered_first = false;
    model::thread([&] { j.publish(); });
    model::thread([&] {
      ++j.joiner.wakers;  // make_waker
      registered = reg(j.state, model::join_waker_cell{j.waiter}, &j.joiner);
      if (registered && unregister) {
        join_slot::unregister_waker(j.state, model::join_waker_cell{j.waiter});
        unregistered_first = j.joiner.drops == 1;
      } else {
        if (registered) j.joiner.wait();  // suspended until the publisher wakes it
        model::check(join_slot::is_complete(j.state), "resumed before completion");
        model::check(j.result.get("result read by the joiner") == 42, "the result");
      }
      j.detach();
    });
    model::run_threads();
    model::check(j.joiner.wakers == 1 && j.joiner.balanced(), "the waker woken or dropped exactly once");
    if (registered && !unregistered_first) model::check(j.joiner.wakes == 1, "the registered joiner woken");
    model::check(j.reported == (j.detached_first ? 1 : 0), "reported exactly when nobody would read it");
  });
}

}  // namespace

TEST_SUITE("model.join_slot") {
  TEST_CASE("a blocking job's completion against a joiner that registers and reads") {
    auto r = join_slot_model("join slot: publish/register/detach", false, real_register);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 10);
  }
  TEST_CASE("the same with a joiner that takes its waker back") {
    auto r = join_slot_model("join slot: publish/register-unregister/detach", true, real_register);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 10);
  }
  TEST_CASE("negative: a relaxed register races with the publisher's take of the waker") {
    auto r = join_slot_model("join slot, relaxed register (must fail)", false, relaxed_register);
    REQUIRE(r.failed);
    CHECK(r.failure.find("data race") != std::string::npos);
    MESSAGE("the explorer's counterexample:\n" << r.failure);
  }
}
