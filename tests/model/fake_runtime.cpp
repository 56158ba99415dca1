// The runtime functions the sync primitives call, for model_tests (see fake_runtime.hpp).

#include "model/fake_runtime.hpp"

#include <array>

#include "runtime/detail/context.hpp"
#include "sync/detail/spin_lock.hpp"
#include "runtime/detail/wait_queue.hpp"

namespace corio::model {
namespace {
std::array<fake_task*, 8> fakes{};
}
void set_fake_task(int thread, fake_task* t) { fakes[static_cast<std::size_t>(thread)] = t; }
}  // namespace corio::model

namespace corio::detail {

thread_context& this_thread() noexcept {
  static thread_context c;  // a plain thread: no runtime, no worker, no task
  return c;
}

task_header* make_waker(std::coroutine_handle<>, const char*) {
  model::fake_task* t = model::fakes[static_cast<std::size_t>(model::thread_index())];
  model::check(t != nullptr, "make_waker on a thread without a fake task");
  ++t->wakers;
  return t;
}

void wake(task_header* t) noexcept {
  auto* f = static_cast<model::fake_task*>(t);
  ++f->wakes;
  model::check(f->wakes + f->drops <= f->wakers, "a waker used twice");
  f->woken.store(1, std::memory_order_release);
}

void task_header::drop_ref() noexcept {
  auto* f = static_cast<model::fake_task*>(this);
  ++f->drops;
  model::check(f->wakes + f->drops <= f->wakers, "a waker used twice");
}

// Reached only from the awaitables' await_suspend, which the models do not run.
bool coop_consume() noexcept { return true; }
std::coroutine_handle<> yield_to_scheduler(std::coroutine_handle<> h, const char*) {
  model::check(false, "yield_to_scheduler in a model");
  return h;
}
void check_may_block(const char*) {}

void spin_lock::lock_contended() noexcept {
  while (locked_.load(std::memory_order_relaxed) || locked_.exchange(true, std::memory_order_acquire))
    spin_loop_hint();
}

}  // namespace corio::detail
