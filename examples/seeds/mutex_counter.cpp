// Ports "shared counter under a mutex": 5 threads each add 1 ten times to an
// Arc<Mutex<u32>>; the final value is 50. The other articles' versions are the same program
// with other numbers: 10 x 1 ("Result: 10", "Final count: 10") and 10 x 1000 ("Counter:
// 10000"); run them as `mutex_counter --tasks 10 --increments 1000`.
//
//   Rust                                  corio
//   Arc<Mutex<u32>>                       std::shared_ptr<corio::mutex<std::uint32_t>>
//   counter.lock().unwrap()               co_await counter->lock()   (suspends the task, not
//                                                                      the worker thread)
//   MutexGuard, *num += 1                 corio::mutex_guard, ++*guard (unlocks at scope end)
//   thread::spawn / join                  corio::spawn / co_await handle
//
// Like Rust's Mutex<T> and unlike std::mutex, corio::mutex<T> owns the value: the only way to
// reach it is through a guard.
//
//   mutex_counter [--tasks N] [--increments M]

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "../args.hpp"

namespace {

using shared_counter = std::shared_ptr<corio::mutex<std::uint32_t>>;

corio::task<void> increment(int id, unsigned long times, shared_counter counter) {
  for (unsigned long k = 0; k < times; ++k) {
    auto num_guard = co_await counter->lock();
    *num_guard += 1;
  }  // the guard goes out of scope each iteration: the lock is released
  fmt::print("Thread {}: Finished incrementing.\n", id);
}

corio::task<std::uint32_t> amain(unsigned long tasks, unsigned long increments) {
  auto counter = std::make_shared<corio::mutex<std::uint32_t>>(0u);
  std::vector<corio::join_handle<void>> handles;
  for (unsigned long i = 0; i < tasks; ++i)
    handles.push_back(corio::spawn(increment(static_cast<int>(i), increments, counter)));
  for (auto& handle : handles) co_await handle;
  co_return *co_await counter->lock();
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  unsigned long tasks = a.number("tasks", 5), increments = a.number("increments", 10);
  std::uint32_t final_value = corio::block_on(amain(tasks, increments));
  fmt::print("Final counter value = {}\n", final_value);
  return final_value == tasks * increments ? 0 : 1;
}
