// Ports "threads counting while main counts": a spawned thread counts to 5 (pausing 500 ms)
// while main counts to 3 (pausing 300 ms), then main joins it. The shorter versions in the
// other articles ("thread: i" / "main: i", "hi number i from the spawned thread!") are the
// same program. Pauses are a tenth of the article's; the interleaving stays nondeterministic.
//
//   Rust                                  corio
//   thread::spawn(closure)                corio::spawn(count_in_new_thread())
//   thread::sleep(d)                      co_await corio::sleep(d)  (frees the worker meanwhile)
//   handle.join().unwrap()                co_await handle

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>

using namespace std::chrono_literals;

namespace {

corio::task<void> count_in_new_thread() {
  for (int i = 1; i <= 5; ++i) {
    fmt::print("New thread: count {}\n", i);
    co_await corio::sleep(50ms);
  }
  fmt::print("New thread: I'm done!\n");
}

corio::task<void> amain() {
  fmt::print("Main thread: Starting up!\n");
  auto handle = corio::spawn(count_in_new_thread());

  for (int i = 1; i <= 3; ++i) {
    fmt::print("Main thread: working... {}\n", i);
    co_await corio::sleep(30ms);
  }

  fmt::print("Main thread: Waiting for the new thread to finish...\n");
  co_await handle;
}

}  // namespace

int main() { corio::block_on(amain()); }
