// The program tests/consumers/run builds against an installed corio (pkg-config, CMake) and
// against corio as a meson subproject: tasks, a channel, a timer and the blocking pool.
#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/sync/mpsc.hpp>
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>

namespace {

corio::task<void> produce(corio::mpsc::sender<int> tx_param) {
  auto tx = std::move(tx_param);
  for (int i = 1; i <= 10; ++i) co_await tx.send(i);
}

std::size_t length(std::string s) { return s.size(); }

corio::task<int> run() {
  auto [tx, rx] = corio::mpsc::bounded<int>(4);
  auto h = corio::spawn(produce(std::move(tx)));
  int sum = 0;
  while (std::optional<int> v = co_await rx.recv()) sum += *v;
  co_await h;
  co_await corio::sleep(std::chrono::milliseconds(1));
  std::size_t n = co_await corio::spawn_blocking(length, std::string("corio"));
  auto address = corio::net::socket_address::parse("127.0.0.1:80");
  co_return sum + static_cast<int>(n) + (address.port() == 80 ? 0 : 1000);
}

}  // namespace

int main() {
  int v = corio::block_on(run());
  fmt::print("consumer: {}\n", v);
  return v == 60 ? 0 : 1;
}
