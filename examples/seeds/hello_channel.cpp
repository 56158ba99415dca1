// Ports "a channel between two threads": a spawned thread sends one String, main receives
// it and prints "Received: Hello, Rust!". (The "Got: hello" version elsewhere is the same
// program.)
//
//   Rust                                  corio
//   let (tx, rx) = mpsc::channel()        auto [tx, rx] = corio::mpsc::unbounded<std::string>()
//   let _ = thread::spawn(move || ...)    corio::spawn(send_greeting(std::move(tx))).detach()
//   tx.send(val).unwrap()                 tx.send(std::move(val))  (unbounded: never waits;
//                                                                    throws if rx is gone)
//   rx.recv().unwrap()                    *co_await rx.recv()      (empty optional: every
//                                                                    sender is gone)

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>

namespace {

corio::task<void> send_greeting(corio::mpsc::unbounded_sender<std::string> tx) {
  std::string val = "Hello, Rust!";
  tx.send(std::move(val));  // `val` now belongs to the receiver
  co_return;
}

corio::task<int> amain() {
  auto [tx, rx] = corio::mpsc::unbounded<std::string>();
  corio::spawn(send_greeting(std::move(tx))).detach();

  std::optional<std::string> received = co_await rx.recv();
  if (!received) co_return 1;  // the sender went away without sending (cannot happen here)
  fmt::print("Received: {}\n", *received);
  co_return 0;
}

}  // namespace

int main() { return corio::block_on(amain()); }
