// Ports "two producers and a consumer": two threads send two messages each through clones of
// one sender; main prints every message and stops when the channel disconnects, i.e. once
// both senders are gone. Which message arrives when is up to the scheduler.
//
//   Rust                                  corio
//   let (tx, rx) = mpsc::channel()        auto [tx, rx] = corio::mpsc::unbounded<std::string>()
//   let tx1 = tx.clone()                  auto tx1 = tx;   (senders are copyable)
//   for received in rx { ... }            while (auto m = co_await rx.recv()) { ... }
//   (closure dropped when the thread ends) a sender moved into a local of the task, so it is
//                                         destroyed when the body ends
//
// The last point matters: a coroutine's by-value parameter lives as long as its frame, and
// the frame of a spawned task whose handle is kept lives until the handle is awaited. Had the
// producers kept `tx` as a parameter, the consumer loop (which runs before the handles are
// awaited) would wait forever for a sender that is no longer used but still alive.

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

using namespace std::chrono_literals;

namespace {

using text_sender = corio::mpsc::unbounded_sender<std::string>;

corio::task<void> producer(int id, text_sender tx_param, std::string first, std::string second,
                           std::chrono::milliseconds pause) {
  text_sender tx = std::move(tx_param);  // dropped at the end of the body, not with the frame
  tx.send(fmt::format("{} from Producer {}", first, id));
  co_await corio::sleep(pause);
  tx.send(fmt::format("{} from Producer {}", second, id));
  fmt::print("Producer {}: All messages sent.\n", id);
}

corio::task<void> amain() {
  auto [tx, rx] = corio::mpsc::unbounded<std::string>();
  text_sender tx1 = tx;

  auto handle1 = corio::spawn(producer(1, std::move(tx1), "Alpha", "Beta", 50ms));
  auto handle2 = corio::spawn(producer(2, std::move(tx), "Gamma", "Delta", 80ms));

  fmt::print("Consumer: Waiting for messages...\n");
  while (std::optional<std::string> received = co_await rx.recv())
    fmt::print("Consumer: Received: '{}'\n", *received);
  fmt::print("Consumer: Channel disconnected, all producers finished.\n");

  co_await handle1;
  co_await handle2;
}

}  // namespace

int main() { corio::block_on(amain()); }
