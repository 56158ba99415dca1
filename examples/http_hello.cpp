// An HTTP/1.1 server that answers every request with "Hello, World!".
//   http_hello [--port P] [--threads K] [--idle-ms MS]
//
// Correct enough for curl, wrk and ab: Content-Length on every response, keep-alive by default
// (HTTP/1.0 only with "Connection: keep-alive"), pipelined requests answered in order with one
// write per batch, "Connection: close" honoured, a malformed request answered 400 and an
// oversized header block 431 (then the connection closes), request bodies (Content-Length)
// skipped, and clients idle for longer than --idle-ms (default 10 s) disconnected.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>

#include "args.hpp"

using namespace std::chrono_literals;
using corio::net::tcp_listener;
using corio::net::tcp_stream;

namespace {

constexpr std::size_t max_header_bytes = 8192;
constexpr std::string_view hello = "Hello, World!";

struct request {
  bool keep_alive = true;
  std::size_t body_length = 0;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Parses one request head ("GET / HTTP/1.1\r\nHeader: v\r\n..." without the blank line).
/// Returns false if it is malformed.
bool parse_head(std::string_view head, request& req) {
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || sp1 == 0) return false;
  std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1")
    req.keep_alive = true;
  else if (version == "HTTP/1.0")
    req.keep_alive = false;
  else
    return false;
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!rest.empty()) {
    std::size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    std::size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = h.substr(0, colon), value = trim(h.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (iequals(value, "close")) req.keep_alive = false;
      if (iequals(value, "keep-alive")) req.keep_alive = true;
    } else if (iequals(name, "content-length")) {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), req.body_length);
      if (ec != std::errc() || p != value.data() + value.size()) return false;
    } else if (iequals(name, "transfer-encoding")) {
      return false;  // chunked bodies are not supported by this example
    }
  }
  return true;
}

void append_response(std::string& out, int status, std::string_view reason, std::string_view body, bool close) {
  out += fmt::format("HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n{}", status, reason,
                     body.size(), close ? "Connection: close\r\n" : "", body);
}

corio::task<void> serve_connection(tcp_stream s, std::chrono::milliseconds idle) {
  s.set_nodelay(true);
  std::string in, out;
  char buf[16384];
  std::size_t skip_body = 0;
  try {
    for (;;) {
      std::size_t n = co_await corio::timeout(idle, s.read(buf, sizeof buf));
      if (n == 0) co_return;
      in.append(buf, n);
      bool close = false;
      for (;;) {  // every complete request in the buffer (pipelining)
        if (skip_body) {
          std::size_t k = std::min(skip_body, in.size());
          in.erase(0, k);
          skip_body -= k;
          if (skip_body) break;
        }
        std::size_t end = in.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (in.size() > max_header_bytes) {
            append_response(out, 431, "Request Header Fields Too Large", "header too large\n", true);
            close = true;
          }
          break;
        }
        if (end > max_header_bytes) {
          append_response(out, 431, "Request Header Fields Too Large", "header too large\n", true);
          close = true;
          break;
        }
        request req;
        if (!parse_head(std::string_view(in).substr(0, end), req)) {
          append_response(out, 400, "Bad Request", "bad request\n", true);
          close = true;
          break;
        }
        in.erase(0, end + 4);
        skip_body = req.body_length;
        append_response(out, 200, "OK", hello, !req.keep_alive);
        if (!req.keep_alive) {
          close = true;
          break;
        }
      }
      if (!out.empty()) {
        co_await s.write_all(out);
        out.clear();
      }
      if (close) {
        co_await s.shutdown();
        co_return;
      }
    }
  } catch (const corio::timed_out&) {
    // idle client: just close
  } catch (const std::system_error&) {
    // reset by the peer
  }
}

corio::task<void> serve(std::uint16_t port, std::chrono::milliseconds idle) {
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("http_hello listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  for (;;) {
    bool failed = false;
    try {
      corio::spawn(serve_connection(co_await listener.accept(), idle)).detach();
    } catch (const std::system_error& e) {
      fmt::print(stderr, "accept: {}\n", e.what());
      failed = true;
    }
    if (failed) co_await corio::sleep(10ms);
  }
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  b.build().block_on(serve(static_cast<std::uint16_t>(a.number("port", 8080)), std::chrono::milliseconds(a.number("idle-ms", 10'000))));
}
