#pragma once
// corio::par::run — hand CPU-bound work from an async task to the fork-join pool.
//
//   corio::task<std::uint64_t> checksum(const std::vector<std::uint64_t>& v) {
//     co_return co_await corio::par::run([&] { return corio::par::iter(v).sum(); });
//   }
//
// `co_await par::run(f)` queues f on the default pool (or `par::run(pool, f)` on that one) and
// suspends the task; the async worker goes on running other tasks. When f returns, the task is
// woken (by the pool worker that ran f) and resumes on one of the runtime's workers with f's
// result, or f's exception rethrown. f may borrow from the task's frame: if the task is aborted
// (or its runtime shut down) while f runs, f is not interrupted, and the frame is destroyed
// only once f has returned (its result is then dropped). Nothing is allocated: the job lives in
// the awaiting frame.
//
// Compare a plain par:: call inside a task: it works, but blocks the calling runtime worker
// thread until the parallel work is done (pool.hpp).

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>

#include "../detail/context.hpp"
#include "../detail/task_header.hpp"
#include "detail/job.hpp"
#include "detail/pool_core.hpp"
#include "pool.hpp"

namespace corio::par {

/// Returned by par::run(f): `co_await` it in a task for f's result (see above). Not movable:
/// await it where it was made. The task resumes on a runtime worker, woken by the pool thread
/// that ran f.
template <class F>
class [[nodiscard]] run_operation final : corio::detail::cancel_hook {
 public:
  /// What `co_await` yields: the function's result.
  using result_type = std::invoke_result_t<F&>;

  /// Queues nothing yet: f goes to `pool` when awaited.
  run_operation(detail::pool_core& pool, F f) : pool_(pool), f_(std::move(f)) {}
  run_operation(const run_operation&) = delete;
  run_operation& operator=(const run_operation&) = delete;
  /// Destroyed while f still runs only by a runtime shutdown: waits for f.
  ~run_operation() {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    if (s == idle || s == done) return;
    if (s == running && state_.compare_exchange_strong(s, waiting, std::memory_order_acq_rel)) s = waiting;
    while ((s = state_.load(std::memory_order_acquire)) != done) {
      if (s == waiting)
        detail::futex_wait(state_, waiting);
      else
        detail::cpu_relax();  // finishing: a few instructions away
    }
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    task_ = corio::detail::make_waker(h, "corio::par::run");  // the completion's reference
    task_->hook = this;
    state_.store(running, std::memory_order_relaxed);
    try {
      pool_.inject(&job_);
    } catch (...) {  // suspend nothing: undo
      state_.store(idle, std::memory_order_relaxed);
      task_->hook = nullptr;
      std::exchange(task_, nullptr)->drop_ref();
      throw;
    }
  }
  result_type await_resume() {
    task_->hook = nullptr;
    task_ = nullptr;
    if (result_.failed()) std::rethrow_exception(result_.error());
    if constexpr (!std::is_void_v<result_type>) return result_.take();
  }

 private:
  static constexpr std::uint32_t idle = 0, running = 1, waiting = 2, finishing = 3, done = 4;

  struct pool_job : detail::job {
    run_operation* op;
  };

  static void execute(detail::job* j) noexcept {
    run_operation* op = static_cast<pool_job*>(j)->op;
    op->result_.run_catching(op->f_);
    corio::detail::task_header* t = op->task_;
    if (op->state_.exchange(finishing, std::memory_order_acq_rel) == waiting) detail::futex_wake(op->state_, 1);
    op->state_.store(done, std::memory_order_release);  // last access to *op: the frame may go now
    corio::detail::wake(t);                              // t: the waker's reference keeps it
  }

  bool cancel(corio::detail::task_header*) noexcept override {
    return state_.load(std::memory_order_acquire) == done;  // else the completion wakes us again
  }

  detail::pool_core& pool_;
  F f_;
  detail::result_slot<result_type> result_;
  corio::detail::task_header* task_ = nullptr;
  std::atomic<std::uint32_t> state_{idle};
  pool_job job_{{&execute}, this};
};

/// Runs f on the default pool without blocking the calling task (see above): `co_await` it
/// for f's result, f's exception rethrown. Awaited in a task on any worker (corio::usage_error
/// outside one).
///
/// **Cancel safety:** not cancel-safe in the sense that f cannot be stopped: once awaited,
/// dropping it (task aborted, a lost select, a timeout) lets f run to completion, keeps the
/// frame until f has returned, and drops f's result (or exception).
template <class F>
run_operation<std::decay_t<F>> run(F&& f) {
  return {default_pool().core(), std::forward<F>(f)};
}

/// Runs f on `p` without blocking the calling task; as run(f).
template <class F>
run_operation<std::decay_t<F>> run(pool& p, F&& f) {
  return {p.core(), std::forward<F>(f)};
}

}  // namespace corio::par
