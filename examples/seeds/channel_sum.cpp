// Ports exercise "channel communication": one thread sends a list of numbers through a
// channel, another receives them, adds them up and prints the sum.
//
//   Rust                                  corio
//   mpsc::sync_channel(16)                corio::mpsc::bounded<long>(16)
//   for n in list { tx.send(n) }          for (long n : list) co_await tx.send(n);
//   rx.iter().sum()                       while (auto n = co_await rx.recv()) sum += *n;
//   two thread::spawn + join              two corio::spawn + co_await
//
// The channel holds 16 numbers at most, so the sender runs at most 16 ahead of the receiver.
//
//   channel_sum [--count N]     (sends 1..N, default 100)

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "../args.hpp"

namespace {

corio::task<void> send_numbers(std::vector<long> list, corio::mpsc::sender<long> tx_param) {
  corio::mpsc::sender<long> tx = std::move(tx_param);  // gone when the body ends: ends the sum
  for (long n : list) co_await tx.send(n);
}

corio::task<long> sum_received(corio::mpsc::receiver<long> rx) {
  long sum = 0;
  std::size_t count = 0;
  while (std::optional<long> n = co_await rx.recv()) {
    sum += *n;
    ++count;
  }
  fmt::print("Receiver: got {} numbers, sum = {}\n", count, sum);
  co_return sum;
}

corio::task<long> amain(long count) {
  std::vector<long> list(static_cast<std::size_t>(count));
  std::iota(list.begin(), list.end(), 1L);

  auto [tx, rx] = corio::mpsc::bounded<long>(16);
  auto receiver = corio::spawn(sum_received(std::move(rx)));
  auto sender = corio::spawn(send_numbers(std::move(list), std::move(tx)));
  co_await sender;
  co_return co_await receiver;
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  long count = static_cast<long>(a.number("count", 100));
  long sum = corio::block_on(amain(count));
  return sum == count * (count + 1) / 2 ? 0 : 1;
}
