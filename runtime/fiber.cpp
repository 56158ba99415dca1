// Fibers: the non-template half of the driver/fiber protocol (detail/fiber_state.hpp).
//
// Who runs where:
//   start, enter_step,       the driver: a worker polling the driver task (or, when the
//   leave_step, unwind       runtime shuts down, the thread destroying the frame). They read
//                            thread-locals on both sides of the switch in step(): a switch
//                            into the fiber always comes back to the same thread.
//   entry, wait_for          the fiber's stack. After ctx_.suspend() returns, the fiber may
//                            be on another thread: nothing there reads a thread-local.
//   current_fiber            either; not inlined, and reads its thread-local afresh each call.
//
// The thread-local "current fiber" is set by enter_step/leave_step around the switch, so it
// is non-null exactly while fiber code runs on this thread (coroutines resumed by the driver,
// including the ones the fiber's awaitables start, see null: corio::await there is misuse).

#include "fiber.hpp"

#include <fmt/format.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>

#include "detail/worker.hpp"

namespace corio {

bool in_fiber() noexcept { return detail::current_fiber() != nullptr; }

namespace detail {

namespace {

thread_local fiber_base* tls_current_fiber = nullptr;

/// Runs of a fiber at least this long count as long resumes (blocking code).
constexpr std::uint64_t long_resume_ns = 10'000'000;

/// The coarse monotonic clock: a few nanoseconds to read (the fine one costs several times
/// more, twice per switch), a few milliseconds of resolution.
std::uint64_t coarse_now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

fiber_base* current_fiber() noexcept {
  asm volatile("" ::: "memory");  // never merged with a call on the other side of a switch
  return tls_current_fiber;
}

void check_blocking_await_allowed() {
  thread_context& c = this_thread();
  if (c.task)
    throw usage_error(
        "corio::await called inside a coroutine task (not a fiber): use co_await there; corio::await is for fibers and "
        "plain threads");
  if (c.current_worker)
    throw usage_error("corio::await called on a runtime worker thread outside any task or fiber");
}

std::size_t checked_stack_size(std::size_t n) {
  if (n < fiber_context::min_stack_size || n > fiber_context::max_stack_size)
    throw std::invalid_argument(fmt::format("corio::spawn_fiber: stack_size {} is out of range {}..{} bytes", n,
                                            fiber_context::min_stack_size, fiber_context::max_stack_size));
  return n;
}

void fiber_base::start(std::size_t stack_size) {
  ctx_.create(stack_size, &fiber_base::entry, this);
  thread_context& c = this_thread();
  sched_ = c.task ? c.task->sched : c.sched;
  if (sched_) sched_->fibers_started.fetch_add(1, std::memory_order_relaxed);
}

fiber_base::step_scope fiber_base::enter_step() noexcept {
  thread_context& c = this_thread();
  return {std::exchange(tls_current_fiber, this), std::exchange(c.in_fiber, true), coarse_now_ns()};
}

bool fiber_base::leave_step(const step_scope& s) noexcept {
  const std::uint64_t ran = coarse_now_ns() - s.t0;
  thread_context& c = this_thread();
  c.in_fiber = s.outer_in_fiber;
  tls_current_fiber = s.outer;
  if (worker* w = c.current_worker; w && c.sched == sched_) {
    worker::counters::bump(w->stats.fiber_resumes);
    if (ran) {
      w->stats.fiber_busy_ns.store(w->stats.fiber_busy_ns.load(std::memory_order_relaxed) + ran, std::memory_order_relaxed);
      if (ran >= long_resume_ns) worker::counters::bump(w->stats.fiber_long_resumes);
    }
  }
  if (!ctx_.finished()) return true;
  if (sched_) sched_->fibers_finished.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void fiber_base::unwind() noexcept {
  if (!ctx_.created() || ctx_.finished()) return;
  cancelled_ = true;
  // wait_for throws at once now instead of switching out, so one switch runs it to its end.
  if (step()) {
    std::fputs("corio: fatal: a cancelled fiber switched out without unwinding\n", stderr);
    std::abort();
  }
}

void fiber_base::entry(void* p) noexcept {
  auto* self = static_cast<fiber_base*>(p);
  try {
    self->run();
  } catch (const fiber_unwinding&) {
    if (!self->cancelled_)  // thrown by hand: the task fails with something its awaiter can catch
      self->error_ = std::make_exception_ptr(cancelled("corio: a fiber threw corio::fiber_unwinding without being cancelled"));
  } catch (...) {
    self->error_ = std::current_exception();
  }
}

void fiber_base::throw_unwinding() { throw fiber_unwinding(); }

void fiber_base::rethrow_if_failed() {
  if (error_) std::rethrow_exception(error_);
}

}  // namespace detail
}  // namespace corio
