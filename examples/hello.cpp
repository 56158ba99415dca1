// The smallest complete corio program.
#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>

corio::task<int> answer() {
  co_await corio::sleep(std::chrono::milliseconds(10));
  co_return 42;
}

int main() {
  int v = corio::block_on(answer());
  fmt::print("the answer is {}\n", v);
  return v == 42 ? 0 : 1;
}
