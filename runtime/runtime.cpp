#include "runtime.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "detail/scheduler.hpp"
#include "detail/unhandled.hpp"

namespace corio {

runtime::builder& runtime::builder::worker_threads(unsigned n) {
  if (n == 0 || n > 4096)
    throw std::invalid_argument(fmt::format("corio::runtime::builder::worker_threads: {} is out of range 1..4096", n));
  cfg_.workers = n;
  return *this;
}

runtime::builder& runtime::builder::abort_on_unhandled_exception() {
  cfg_.on_unhandled_exception = [](std::exception_ptr e, std::uint64_t id) {
    detail::print_unhandled(e, "task", id, "; aborting");
    std::fflush(stderr);
    std::abort();
  };
  return *this;
}

runtime::builder& runtime::builder::backend(io_backend b) {
  switch (b) {
    case io_backend::automatic: cfg_.backend.reset(); break;
    case io_backend::uring: cfg_.backend = detail::backend_kind::uring; break;
    case io_backend::epoll: cfg_.backend = detail::backend_kind::epoll; break;
  }
  return *this;
}

namespace detail {

void check_block_on_allowed(const char* what) {
  if (this_thread().current_worker)
    throw usage_error(fmt::format("{} called on a runtime worker thread; inside a task, co_await the task instead", what));
}

namespace {
// A runtime's parts: its services (blocking pool, watchdog, dumps), then its scheduler, which
// is destroyed first: its shutdown stops the watchdog and the pool at their steps. The runtime
// holds the scheduler's address; the deleter finds the whole from the services.
struct runtime_core : runtime_services {
  scheduler sched;
  explicit runtime_core(runtime_config cfg) : sched(std::move(cfg), *this) {}
};
}  // namespace

void scheduler_deleter::operator()(scheduler* s) const noexcept { delete static_cast<runtime_core*>(&s->services()); }

scheduler_ptr make_scheduler(runtime_config cfg) { return scheduler_ptr(&(new runtime_core(std::move(cfg)))->sched); }

task_header* spawn_root(scheduler& s, std::coroutine_handle<> root, const result_ops* result, completion_listener* listener,
                        std::source_location where) {
  return s.spawn(root, result, listener, where);
}

scheduler& current_scheduler(const char* what) {
  scheduler* s = this_thread().sched;
  if (!s)
    throw usage_error(fmt::format("{} called outside a corio runtime; use runtime::spawn, or call it from a task", what));
  return *s;
}

}  // namespace detail

void runtime::shutdown() { sched_->shutdown(); }

runtime_metrics runtime::metrics() const {
  runtime_metrics m;
  sched_->fill_metrics(m);
  return m;
}

task_dump runtime::dump_tasks(std::chrono::milliseconds wait) const { return sched_->services().dump_tasks(*sched_, wait); }

unsigned runtime::worker_count() const noexcept { return sched_->num_workers(); }

std::string_view runtime::backend_name() const noexcept { return detail::to_string(sched_->backend()); }

void runtime::run_root(std::coroutine_handle<> root, const std::atomic<bool>& done) {
  detail::thread_context& c = detail::this_thread();
  detail::scheduler* outer = std::exchange(c.sched, sched_.get());  // spawn() works in here
  struct restore {
    detail::thread_context& c;
    detail::scheduler* outer;
    ~restore() { c.sched = outer; }
  } r{c, outer};
  sched_->spawn(root, nullptr);
  if (sched_->config().current_thread)
    sched_->run_current_thread(done);
  else
    done.wait(false, std::memory_order_acquire);
}

}  // namespace corio
