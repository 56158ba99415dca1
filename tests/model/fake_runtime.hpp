#pragma once
// The runtime as the sync primitives' models see it: tasks are fake headers whose wake sets a
// flag the model thread waits on, and whose references are counted rather than freed.
// fake_runtime.cpp defines the runtime functions the primitives call (wake, make_waker,
// task_header::drop_ref, this_thread) and the spin lock's contended path; libcorio, which
// defines the real ones, is not linked into model_tests.

#include "model/explorer.hpp"
#include "runtime/detail/atomic.hpp"
#include "runtime/detail/task_header.hpp"
#include "runtime/detail/wait_queue.hpp"

namespace corio::detail {
/// A wait node's state word read relaxed, as the negative controls' broken destructors read
/// it (wait_queue_model.cpp, mpsc_model.cpp).
struct wait_node_access {
  static wait_state relaxed_state(const wait_node& n) { return n.state_.load(std::memory_order_relaxed); }
};
}  // namespace corio::detail

namespace corio::model {

struct fake_task : detail::task_header {
  detail::atomic<int> woken{0};
  int wakers = 0, wakes = 0, drops = 0;  // oracle

  /// Waits (as a suspended task would) until woken.
  void wait() {
    while (!woken.load(std::memory_order_acquire)) detail::spin_loop_hint();
  }
  bool balanced() const { return wakes + drops == wakers; }
};

/// A join slot's waker field (runtime/detail/join_slot.hpp) as a race-checked cell: the models
/// pass it where the runtime passes join_slot::waker_field over a plain pointer.
struct join_waker_cell {
  cell<detail::task_header*>& field;
  void put(detail::task_header* w) const { field.set(w, "join slot: waker stored"); }
  detail::task_header* take() const {
    detail::task_header* w = field.get("join slot: waker taken");
    field.set(nullptr, "join slot: waker taken");
    return w;
  }
};

/// The fake task make_waker() returns on model thread `i` (1-based); null: none.
void set_fake_task(int thread, fake_task* t);

}  // namespace corio::model
