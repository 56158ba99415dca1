// Ports "moving data into a thread": a `move` closure takes ownership of a String and an
// i32 (and, in another article, of a Vec) so the spawned thread may use them.
//
//   Rust                                  corio
//   thread::spawn(move || use(message))   corio::spawn(use(std::move(message)))
//   captured-by-move variables            coroutine parameters taken by value
//   "value borrowed here after move"      nothing stops you: a moved-from std::string is
//                                         valid but unspecified (empty in practice)
//
// Why parameters and not a lambda's captures: a coroutine frame copies its parameters, but a
// coroutine lambda's captures stay in the lambda object, which is usually gone by the time
// the spawned task runs. Take what a task needs by value, as parameters.

#include <corio/corio.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <utility>
#include <vector>

namespace {

corio::task<void> use_owned(std::string message, int important_number) {
  fmt::print("Spawned thread received message: '{}'\n", message);
  fmt::print("Spawned thread received number: {}\n", important_number);
  co_return;
}

corio::task<void> show_vector(std::vector<int> v) {
  fmt::print("Here's a vector: {}\n", v);
  co_return;
}

corio::task<void> amain() {
  std::string message = "Hello from the main thread!";
  int important_number = 42;
  auto handle = corio::spawn(use_owned(std::move(message), important_number));
  // `message` now belongs to the task; `important_number` was copied (as i32 is Copy).
  co_await handle;

  std::vector<int> v{1, 2, 3};
  co_await corio::spawn(show_vector(std::move(v)));
}

}  // namespace

int main() { corio::block_on(amain()); }
