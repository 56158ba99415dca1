// Ports "the start-signal/result handshake": main does its setup, signals a waiting worker to
// start over one channel, and gets the worker's result back over another. (The article's
// 500 ms of setup and 1 s of work are 50 ms and 100 ms here.)
//
//   Rust                                  corio
//   mpsc::channel() used for one message  corio::oneshot::channel<T>()
//   start_tx.send(())                     start_tx.send(go{})   (an empty struct for "()")
//   start_rx.recv().expect("...")         co_await start_rx     (throws corio::channel_closed
//                                                                if the sender died unsent)
//   thread::sleep(d) in the worker        co_await corio::sleep(d)

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <utility>

using namespace std::chrono_literals;

namespace {

struct go {};  // the signal carries no data

corio::task<void> worker(corio::oneshot::receiver<go> start_rx, corio::oneshot::sender<std::string> result_tx) {
  fmt::print("Worker: Waiting for start signal...\n");
  co_await start_rx;
  fmt::print("Worker: Signal received! Starting work...\n");
  co_await corio::sleep(100ms);
  result_tx.send("Computation complete!");
}

corio::task<void> amain() {
  auto [start_tx, start_rx] = corio::oneshot::channel<go>();
  auto [result_tx, result_rx] = corio::oneshot::channel<std::string>();

  auto worker_handle = corio::spawn(worker(std::move(start_rx), std::move(result_tx)));

  fmt::print("Main: Performing setup...\n");
  co_await corio::sleep(50ms);
  fmt::print("Main: Setup complete. Sending start signal.\n");
  start_tx.send(go{});

  std::string output = co_await result_rx;
  fmt::print("Main: Received from worker: '{}'\n", output);

  co_await worker_handle;
}

}  // namespace

int main() { corio::block_on(amain()); }
