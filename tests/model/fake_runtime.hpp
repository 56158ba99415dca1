#pragma once
// The runtime as the sync primitives' models see it: tasks are fake headers whose wake sets a
// flag the model thread waits on, and whose references are counted rather than freed.
// fake_runtime.cpp defines the runtime functions the primitives call (wake, make_waker,
// task_header::drop_ref, this_thread) and the spin lock's contended path; libcorio, which
// defines the real ones, is not linked into model_tests.

#include "model/explorer.hpp"
#include "runtime/detail/atomic.hpp"
#include "runtime/detail/task_header.hpp"

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

/// The fake task make_waker() returns on model thread `i` (1-based); null: none.
void set_fake_task(int thread, fake_task* t);

}  // namespace corio::model
