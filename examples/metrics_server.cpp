// Runtime diagnostics over HTTP: GET /metrics answers the runtime's metrics in the Prometheus
// text format, GET /tasks the list of live tasks (what each waits on, where it was spawned).
//   metrics_server [--port P] [--threads K] [--detect-blocking-ms N]
//
// A few background tasks keep the runtime busy (a ticker, channel traffic), so the numbers move
// and the task dump has something to show. Point Prometheus at http://127.0.0.1:P/metrics.

#include <corio/corio.hpp>
#include <corio/io/buffered_reader.hpp>
#include <corio/io/net.hpp>
#include <fmt/format.h>

#include <optional>
#include <string>

#include "args.hpp"

using namespace std::chrono_literals;
using corio::net::tcp_listener;
using corio::net::tcp_stream;

namespace {

corio::task<void> ticker() {
  for (;;) co_await corio::sleep(100ms);
}

corio::task<void> producer(corio::mpsc::sender<int> tx) {
  for (int i = 0;; ++i) {
    co_await tx.send(i);
    co_await corio::sleep(10ms);
  }
}

corio::task<void> consumer(corio::mpsc::receiver<int> rx) {
  // The received value gets a name: g++-12 miscompiles a loop whose only statement is a
  // co_await used as the condition (README, "Compiler bugs").
  while (std::optional<int> m = co_await rx.recv()) {
  }
}

std::string response(std::string_view status, std::string_view type, const std::string& body) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{}", status, type, body.size(), body);
}

// One request per line of the request head; only the request line matters here.
corio::task<void> serve_client(tcp_stream s, corio::runtime& rt) {
  corio::buffered_reader in(s);
  try {
    for (;;) {
      std::string request_line;
      if (co_await in.read_line(request_line) == 0) co_return;
      for (std::string header; co_await in.read_line(header) > 0 && header != "\r\n" && header != "\n"; header.clear()) {
      }
      std::string reply;
      if (request_line.starts_with("GET /metrics "))
        reply = response("200 OK", "text/plain; version=0.0.4", corio::format_prometheus(rt.metrics()));
      else if (request_line.starts_with("GET /tasks "))
        reply = response("200 OK", "text/plain", rt.dump_tasks(200ms).to_string());
      else
        reply = response("404 Not Found", "text/plain", "try /metrics or /tasks\n");
      co_await s.write_all(reply.data(), reply.size());
    }
  } catch (const std::system_error& e) {
    fmt::print(stderr, "connection: {}\n", e.what());
  }
}

corio::task<void> serve(std::uint16_t port, corio::runtime& rt) {
  auto [tx, rx] = corio::mpsc::bounded<int>(16);
  corio::spawn(ticker()).detach();
  corio::spawn(producer(std::move(tx))).detach();
  corio::spawn(consumer(std::move(rx))).detach();
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("metrics_server listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  for (;;) corio::spawn(serve_client(co_await listener.accept(), rt)).detach();
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  if (auto ms = a.number("detect-blocking-ms", 0)) b.detect_blocking(std::chrono::milliseconds(ms));
  corio::runtime rt = b.build();
  rt.block_on(serve(static_cast<std::uint16_t>(a.number("port", 9100)), rt));
}
