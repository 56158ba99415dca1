// Ports "block_on with a blocking sleep": fetch_simulated_data sleeps with thread::sleep
// inside an async fn, driven by futures::executor::block_on on one thread. The article notes
// that nothing else can run during such a sleep; this program shows it, then the fix.
// (The 1 s delay is 100 ms here.)
//
//   Rust                                  corio
//   futures::executor::block_on(f)        a current_thread runtime: rt.block_on(f)
//   thread::sleep(d) in an async fn       std::this_thread::sleep_for(d): blocks the thread
//   tokio::time::sleep(d).await           co_await corio::sleep(d): suspends only the task
//   tokio::task::spawn_blocking           co_await corio::spawn_blocking(f)
//   futures::join!(a, b)                  co_await corio::join(a, b)
//
// Four runs of two fetches:
//   1. sequential, blocking sleep         the article's program
//   2. concurrent, blocking sleep         the second fetch cannot even start until the first
//                                         is done: the one thread is asleep
//   3. concurrent, corio::sleep           both start at once, both sleeps overlap
//   4. concurrent, spawn_blocking         when the blocking call cannot be avoided: it runs on
//                                         the blocking pool and the fetches overlap again
// The order of the lines shows the difference; the times (about 200, 200, 100, 100 ms) only
// illustrate it.

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

constexpr auto delay = 100ms;

enum class how { blocking, async, blocking_pool };

corio::task<std::string> fetch_simulated_data(int id, how wait) {
  fmt::print("Task {}: Starting fetch...\n", id);
  switch (wait) {
    case how::blocking:
      std::this_thread::sleep_for(delay);  // wrong in async code: stalls the whole thread
      break;
    case how::async:
      co_await corio::sleep(delay);
      break;
    case how::blocking_pool:
      co_await corio::spawn_blocking([] { std::this_thread::sleep_for(delay); });
      break;
  }
  fmt::print("Task {}: Fetch complete.\n", id);
  co_return fmt::format("Data from task {}", id);
}

corio::task<void> process_tasks_sequentially() {
  std::string result1 = co_await fetch_simulated_data(1, how::blocking);
  fmt::print("Got: {}\n", result1);
  std::string result2 = co_await fetch_simulated_data(2, how::blocking);
  fmt::print("Got: {}\n", result2);
}

corio::task<void> process_tasks_concurrently(how wait) {
  auto [result1, result2] = co_await corio::join(fetch_simulated_data(1, wait), fetch_simulated_data(2, wait));
  fmt::print("Got: {}\n", result1);
  fmt::print("Got: {}\n", result2);
}

template <class F>
void timed(corio::runtime& rt, const char* title, F make_task) {
  fmt::print("-- {}\n", title);
  auto start = std::chrono::steady_clock::now();
  rt.block_on(make_task());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  fmt::print("   (took about {} ms)\n", ms.count());
}

}  // namespace

int main() {
  // One thread, like futures::executor::block_on: the thread calling block_on runs every task.
  corio::runtime rt = corio::runtime::builder().current_thread().build();
  timed(rt, "sequential, blocking sleep", [] { return process_tasks_sequentially(); });
  timed(rt, "concurrent, blocking sleep", [] { return process_tasks_concurrently(how::blocking); });
  timed(rt, "concurrent, corio::sleep", [] { return process_tasks_concurrently(how::async); });
  timed(rt, "concurrent, spawn_blocking", [] { return process_tasks_concurrently(how::blocking_pool); });
}
