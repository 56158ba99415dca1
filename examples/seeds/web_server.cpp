// Ports challenge "concurrent web server": a basic HTTP server that handles many requests at
// once and answers with a simple message. GET / is answered 200 with a greeting, other paths
// 404, and a request that is not HTTP 400. One request per connection (Connection: close).
//
//   Rust (tokio / hyper style)             corio
//   TcpListener::bind(addr).await          corio::net::tcp_listener::bind(addr)
//   listener.accept().await                co_await listener.accept()
//   tokio::spawn(handle(stream))           corio::spawn(handle(std::move(stream)))
//   BufReader::new(stream).read_line       corio::buffered_reader(stream).read_line
//   stream.write_all(..).await             co_await stream.write_all(..)
//   tokio::time::timeout                   corio::timeout
//
// Each connection is a task: a client that is slow to send its request holds only its own
// task, never the accept loop or the other connections.
//
//   web_server [--port P] [--threads K] [--requests N]
// prints "web_server listening on 127.0.0.1:P" once it listens; serves until killed, or, with
// --requests N, until N connections have been answered.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../args.hpp"

using namespace std::chrono_literals;
using corio::net::tcp_listener;
using corio::net::tcp_stream;

namespace {

constexpr std::size_t max_line = 8192;
constexpr auto request_timeout = 10s;

struct response {
  int status = 500;
  std::string_view reason = "Internal Server Error";
  std::string body;
};

/// Decides the answer from the request line, e.g. "GET / HTTP/1.1".
response route(std::string_view request_line) {
  std::size_t sp1 = request_line.find(' ');
  std::size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp2 == sp1) return {400, "Bad Request", "bad request\n"};
  std::string_view method = request_line.substr(0, sp1);
  std::string_view path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = request_line.substr(sp2 + 1);
  if (!version.starts_with("HTTP/1.") || path.empty() || path.front() != '/') return {400, "Bad Request", "bad request\n"};
  if (method != "GET") return {405, "Method Not Allowed", "only GET is served here\n"};
  if (path == "/") return {200, "OK", "Hello from corio!\n"};
  return {404, "Not Found", fmt::format("nothing at {}\n", path)};
}

/// Reads the request head (the request line, then headers up to a blank line).
corio::task<response> read_request(tcp_stream& stream) {
  corio::buffered_reader reader(stream);  // borrows the stream
  reader.set_max_line_length(max_line);
  std::optional<std::string> request_line = co_await reader.next_line();
  if (!request_line) co_return response{400, "Bad Request", "empty request\n"};
  for (;;) {  // headers: none is needed here, but each must look like one
    std::optional<std::string> header = co_await reader.next_line();
    if (!header) co_return response{400, "Bad Request", "incomplete request\n"};
    if (header->empty()) break;
    if (header->find(':') == std::string::npos) co_return response{400, "Bad Request", "malformed header\n"};
  }
  co_return route(*request_line);
}

corio::task<void> handle(tcp_stream stream) {
  try {
    response r;
    try {
      r = co_await corio::timeout(request_timeout, read_request(stream));
    } catch (const corio::line_too_long&) {
      r = {431, "Request Header Fields Too Large", "header line too long\n"};
    }
    co_await stream.write_all(fmt::format("HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
                                          "Connection: close\r\n\r\n{}",
                                          r.status, r.reason, r.body.size(), r.body));
    co_await stream.shutdown();
  } catch (const corio::timed_out&) {
    // the client sent nothing useful in time: just close
  } catch (const std::system_error&) {
    // reset by the peer
  }
}

corio::task<void> serve(std::uint16_t port, unsigned long max_connections) {
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("web_server listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);

  std::vector<corio::join_handle<void>> answered;  // only kept with --requests
  for (unsigned long accepted = 0; max_connections == 0 || accepted < max_connections;) {
    std::optional<tcp_stream> stream;
    try {
      stream.emplace(co_await listener.accept());
    } catch (const std::system_error& e) {  // e.g. out of descriptors: back off, go on
      fmt::print(stderr, "accept: {}\n", e.what());
    }
    if (!stream) {
      co_await corio::sleep(10ms);
      continue;
    }
    auto h = corio::spawn(handle(std::move(*stream)));
    ++accepted;
    if (max_connections != 0)
      answered.push_back(std::move(h));
    // else: dropping the handle detaches the task
  }
  co_await corio::join_all(std::move(answered));
  fmt::print("web_server: answered {} connections\n", max_connections);
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto builder = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) builder.worker_threads(static_cast<unsigned>(k));
  builder.build().block_on(serve(static_cast<std::uint16_t>(a.number("port", 8080)), a.number("requests", 0)));
}
