#pragma once
// corio::par::scope — spawn any number of jobs that may borrow from the enclosing frame.
//
//   std::vector<int> results(n);
//   corio::par::scope([&](corio::par::scope_handle& s) {
//     for (int i = 0; i < n; ++i) s.spawn([&, i] { results[i] = work(i); });
//   });                                                 // every spawned job has finished here
//
// scope(body) runs body(s) on a pool worker; s.spawn(f) queues f (f() or f(s), so jobs can
// spawn more jobs) for any worker to run. scope returns only when the body and every job
// spawned into it have finished — so they may reference the caller's locals — and returns the
// body's result. While it waits, the calling worker runs jobs itself (its own spawns first).
//
// Exceptions: every spawned job runs even if another throws; scope rethrows the body's
// exception if it threw, else the first exception a job threw. Spawning allocates one small
// job object (the closure moved into it). spawn() may be called from any thread while the
// scope is open (from inside its body or its jobs, typically).

#include <atomic>
#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "detail/job.hpp"
#include "detail/pool_core.hpp"

namespace corio::par {

class scope_handle;

namespace detail {

template <class F>
struct scope_job : job {
  scope_job(F&& fn, scope_handle* s) : job{&run}, f(std::move(fn)), owner(s) {}
  scope_job(const F& fn, scope_handle* s) : job{&run}, f(fn), owner(s) {}
  static void run(job* j) noexcept;
  F f;
  scope_handle* owner;
};

}  // namespace detail

/// What a scope body receives: spawn() queues jobs that finish before scope() returns. May be
/// used from any thread while the scope is open (see above); not copyable.
class scope_handle {
 public:
  scope_handle(const scope_handle&) = delete;
  scope_handle& operator=(const scope_handle&) = delete;

  /// Queues f (called as f(*this) if it accepts a scope_handle&, else f()) to run on the
  /// scope's pool before the scope returns. Throws std::bad_alloc if the job cannot be
  /// allocated (nothing is queued then).
  template <class F>
  void spawn(F&& f) {
    using fn = std::decay_t<F>;
    pending_.fetch_add(1, std::memory_order_relaxed);
    detail::job* j;
    try {
      j = new detail::scope_job<fn>(std::forward<F>(f), this);
    } catch (...) {
      job_finished();
      throw;
    }
    detail::worker* w = detail::current_worker;
    if (w && &w->pool == &pool_) {
      if (!w->push_public(j)) detail::worker::execute(j);  // deque full: run it now
    } else {
      pool_.inject(j);
    }
  }

 private:
  template <class F>
  friend std::invoke_result_t<F&, scope_handle&> scope(F&& body);
  template <class F>
  friend struct detail::scope_job;

  scope_handle(detail::pool_core& pool, detail::parker* waiter) noexcept : pool_(pool), done_(waiter) {}

  void job_finished() noexcept {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.set();
  }
  void fail(std::exception_ptr e) noexcept {
    if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::move(e);
  }

  detail::pool_core& pool_;
  std::atomic<std::size_t> pending_{1};  // the body itself, plus each queued job
  detail::latch done_;
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

template <class F>
void detail::scope_job<F>::run(job* j) noexcept {
  auto* self = static_cast<scope_job*>(j);
  scope_handle* s = self->owner;
  try {
    if constexpr (std::is_invocable_v<F&, scope_handle&>)
      self->f(*s);
    else
      self->f();
  } catch (...) {
    s->fail(std::current_exception());
  }
  delete self;
  s->job_finished();  // last: the scope may return (and its frame go) right after
}

/// Runs body(scope_handle&) and every job it spawns; returns the body's result (see above).
template <class F>
std::invoke_result_t<F&, scope_handle&> scope(F&& body) {
  using R = std::invoke_result_t<F&, scope_handle&>;
  auto whole = [&]() -> R {
    detail::worker& w = *detail::current_worker;
    scope_handle s(w.pool, &w.park);
    auto call = [&]() -> R { return body(s); };
    detail::result_slot<R> r;
    r.run_catching(call);
    s.job_finished();
    w.wait_until(s.done_);
    if (r.failed()) std::rethrow_exception(r.error());
    if (s.error_) std::rethrow_exception(s.error_);
    if constexpr (!std::is_void_v<R>) return r.take();
  };
  return detail::run_in(detail::current_core(), whole);
}

}  // namespace corio::par
