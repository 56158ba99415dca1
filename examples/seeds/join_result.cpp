// Ports "join returning a value or the thread's panic": one worker returns 42, another
// panics, and main matches on both results and carries on. (The 1 s of simulated work is
// 100 ms here.)
//
//   Rust                                  corio
//   thread::spawn(|| { ...; 42 })         corio::spawn(task<int>)
//   panic!("...")                         throw std::runtime_error("...")
//   match handle.join() { Ok(v) / Err(e) }  try { co_await handle } catch (const std::exception& e)
//
// The exception travels to whoever awaits the handle; the runtime and the other tasks are not
// affected. (Had the handle been dropped, it would go to the runtime's unhandled-exception
// hook instead.)

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {

corio::task<int> successful_worker() {
  fmt::print("Worker (Success): Starting computation...\n");
  co_await corio::sleep(100ms);
  fmt::print("Worker (Success): Computation finished.\n");
  co_return 42;
}

corio::task<int> panicking_worker() {
  fmt::print("Worker (Panic): I'm about to panic!\n");
  throw std::runtime_error("The worker thread has panicked!");
  co_return 0;  // never reached; makes this a coroutine
}

corio::task<void> amain() {
  auto worker_handle = corio::spawn(successful_worker());
  auto panicking_handle = corio::spawn(panicking_worker());

  try {
    int result = co_await worker_handle;
    fmt::print("Main: Successful worker returned: {}\n", result);
  } catch (const std::exception&) {
    fmt::print("Main: Successful worker panicked unexpectedly!\n");
  }

  try {
    co_await panicking_handle;
    fmt::print("Main: Panicking worker somehow succeeded?\n");
  } catch (const std::exception& e) {
    fmt::print("Main: Panicking worker failed as expected: {}\n", e.what());
  }

  fmt::print("Main: Program continues running.\n");
}

}  // namespace

int main() { corio::block_on(amain()); }
