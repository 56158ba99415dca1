// Ports "the bounded channel": a channel with room for 10 messages; a spawned thread sends
// the value 10 and main prints "Received value: 10". The article's chan::sender::<i32>(10)
// does not exist in std; Rust's bounded channel is mpsc::sync_channel(10) (or tokio's
// mpsc::channel(10)).
//
//   Rust                                  corio
//   mpsc::sync_channel::<i32>(10)         corio::mpsc::bounded<int>(10)
//   tx.send(10).unwrap()                  co_await tx.send(10)   (waits while the channel is full)
//   tx.try_send(v)                        tx.try_send(v)         (full: the value is handed back)
//   rx.recv().unwrap()                    *co_await rx.recv()
//
// A second part shows what the bound means: with nobody receiving, try_send accepts exactly
// 10 values and reports the 11th as full; a send() would wait there until the receiver
// makes room, which is how a bounded channel slows a fast producer down.

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <optional>
#include <utility>

namespace {

corio::task<void> send_value(corio::mpsc::sender<int> tx, int value) {
  co_await tx.send(value);
}

corio::task<int> amain() {
  {
    auto [tx, rx] = corio::mpsc::bounded<int>(10);
    corio::spawn(send_value(std::move(tx), 10)).detach();
    std::optional<int> received_value = co_await rx.recv();
    if (!received_value) co_return 1;
    fmt::print("Received value: {}\n", *received_value);
  }
  {
    auto [tx, rx] = corio::mpsc::bounded<int>(10);
    int accepted = 0;
    for (;;) {
      auto r = tx.try_send(accepted + 1);
      if (!r) break;
      ++accepted;
    }
    fmt::print("try_send: {} values accepted, then the channel was full (capacity {})\n", accepted, tx.max_capacity());
    auto blocked = corio::spawn(send_value(tx, 11));  // waits for room (the channel is full)
    std::optional<int> first = co_await rx.recv();      // makes room
    co_await blocked;                                   // so the send of 11 completes
    fmt::print("received {}; then the send of 11 went in: {} values queued\n", first.value_or(0), rx.size());
  }
  co_return 0;
}

}  // namespace

int main() { return corio::block_on(amain()); }
