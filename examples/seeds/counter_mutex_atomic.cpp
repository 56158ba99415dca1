// Ports exercise "shared state with mutexes": one concurrent counter behind a mutex and one
// atomic counter, several tasks incrementing each a fixed number of times, and a check that
// both end at tasks x increments.
//
//   Rust                                  corio
//   Arc<Mutex<usize>>                     corio::mutex<std::size_t>
//   Arc<AtomicUsize>                      std::atomic<std::size_t>
//   thread::spawn for each, join          corio::join_all over tasks that borrow both counters
//                                         (join_all does not return while one still runs)
//
//   counter_mutex_atomic [--tasks N] [--increments M]

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <atomic>
#include <cstddef>
#include <vector>

#include "../args.hpp"

namespace {

struct counters {
  corio::mutex<std::size_t> locked{0u};
  std::atomic<std::size_t> atomic{0};
};

corio::task<void> increment_both(counters& c, unsigned long times) {
  for (unsigned long k = 0; k < times; ++k) {
    {
      auto guard = co_await c.locked.lock();
      ++*guard;
    }
    c.atomic.fetch_add(1, std::memory_order_relaxed);
  }
}

corio::task<int> amain(unsigned long tasks, unsigned long increments) {
  counters c;
  std::vector<corio::task<void>> workers;
  for (unsigned long i = 0; i < tasks; ++i) workers.push_back(increment_both(c, increments));
  co_await corio::join_all(std::move(workers));

  const std::size_t expected = tasks * increments;
  const std::size_t locked = *co_await c.locked.lock();
  const std::size_t atomic = c.atomic.load(std::memory_order_relaxed);
  fmt::print("mutex counter: {} (expected {})\n", locked, expected);
  fmt::print("atomic counter: {} (expected {})\n", atomic, expected);
  co_return locked == expected && atomic == expected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  return corio::block_on(amain(a.number("tasks", 8), a.number("increments", 10'000)));
}
