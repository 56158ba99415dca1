// Ports "the atomic counter": 10 threads each fetch_add 1 a thousand times on an
// Arc<AtomicUsize>; "Counter: 10000". (Another article's version adds 1 once per thread:
// `atomic_counter --increments 1`.)
//
//   Rust                                  corio
//   Arc<AtomicUsize>                      std::atomic<std::size_t>, borrowed by the tasks of
//                                         one corio::join_all (it outlives them, like
//                                         thread::scope)
//   counter.fetch_add(1, Ordering::SeqCst)  counter.fetch_add(1, std::memory_order_relaxed)
//   handle.join() for each, then load     co_await corio::join_all(...), then load
//
// Relaxed is enough: nothing else is published through the counter, and join_all returning
// happens-after every task's last increment. The tasks run on all the runtime's workers at
// once, so the atomic is what keeps increments from being lost.
//
//   atomic_counter [--tasks N] [--increments M]

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <atomic>
#include <cstddef>
#include <vector>

#include "../args.hpp"

namespace {

corio::task<void> count(std::atomic<std::size_t>& counter, unsigned long times) {
  for (unsigned long k = 0; k < times; ++k) counter.fetch_add(1, std::memory_order_relaxed);
  co_return;
}

corio::task<std::size_t> amain(unsigned long tasks, unsigned long increments) {
  std::atomic<std::size_t> counter{0};
  std::vector<corio::task<void>> handles;
  for (unsigned long i = 0; i < tasks; ++i) handles.push_back(count(counter, increments));
  co_await corio::join_all(std::move(handles));
  co_return counter.load(std::memory_order_relaxed);
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  unsigned long tasks = a.number("tasks", 10), increments = a.number("increments", 1000);
  std::size_t total = corio::block_on(amain(tasks, increments));
  fmt::print("Counter: {}\n", total);
  return total == tasks * increments ? 0 : 1;
}
