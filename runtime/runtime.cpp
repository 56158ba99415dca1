#include "runtime.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

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

scheduler& current_scheduler(const char* what) {
  scheduler* s = this_thread().sched;
  if (!s)
    throw usage_error(fmt::format("{} called outside a corio runtime; use runtime::spawn, or call it from a task", what));
  return *s;
}

}  // namespace detail
}  // namespace corio
