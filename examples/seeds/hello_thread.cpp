// Ports the smallest programs of the articles: a spawned thread that prints "Hello from
// another thread!" and is joined, and an `async fn` awaited from an async main.
//
//   Rust                                  corio
//   thread::spawn(|| ...)                 corio::spawn(task)        (a task on a runtime worker)
//   handle.join().unwrap()                co_await handle
//   async fn f() -> T / f().await         corio::task<T> f() / co_await f()
//   #[tokio::main] async fn main()        int main() { return corio::block_on(amain()); }
//   (a real OS thread for blocking code)  co_await corio::spawn_blocking(f)

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <string>

namespace {

corio::task<void> greet() {
  fmt::print("Hello from another thread!\n");
  co_return;
}

corio::task<std::string> coroutine() { co_return "Hello from a coroutine!"; }

corio::task<int> amain() {
  auto handle = corio::spawn(greet());  // starts now, possibly on another worker
  co_await handle;                      // waits for it (and would rethrow its exception)

  std::string result = co_await coroutine();  // lazy: runs here, when awaited
  fmt::print("{}\n", result);

  // Blocking code gets a thread of the runtime's blocking pool instead of a worker.
  co_await corio::spawn_blocking([] { fmt::print("Hello from a blocking-pool thread!\n"); });
  co_return 0;
}

}  // namespace

int main() { return corio::block_on(amain()); }
