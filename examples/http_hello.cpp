// An HTTP/1.1 server that answers every request with "Hello, World!".
//   http_hello [--port P] [--threads K] [--idle-ms MS] [--request-ms MS] [--write-ms MS]
//              [--max-head BYTES] [--max-body BYTES]
//
// Correct enough for curl, wrk and ab: Content-Length on every response, keep-alive by default
// (HTTP/1.0 only with "Connection: keep-alive"), pipelined requests answered in order with one
// write per batch, "Connection: close" honoured, HEAD answered with the headers alone, request
// bodies (Content-Length) skipped. The request head is parsed strictly (examples/http_head.hpp,
// RFC 9112): what a proxy and this server could read differently (bare LF, whitespace before a
// colon, two Content-Lengths, control bytes, a bad method token ...) is answered 400, chunked
// bodies 501, then the connection closes.
//
// Limits, each a flag, so that a public server survives slow or hostile clients:
//   --idle-ms     10000  a client with no request under way and silent this long is closed
//   --request-ms  10000  a whole request (head and body) must arrive within this, counted from
//                        its first byte; else 408 and close (a byte every few seconds does not
//                        keep a connection alive: that is the "slowloris" attack)
//   --write-ms    10000  a response write (a batch of pipelined answers) that cannot finish
//                        within this is abandoned and the connection closed (a client that
//                        pipelines and never reads)
//   --max-head     8192  request-line and headers, in bytes; longer is 431
//   --max-body  1048576  largest Content-Length accepted; larger is 413
// The accept loop backs off when the process is out of descriptors (EMFILE), as echo_server does.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "accept_loop.hpp"
#include "args.hpp"
#include "http_head.hpp"

using namespace std::chrono_literals;
using corio::net::tcp_listener;
using corio::net::tcp_stream;
using ms = std::chrono::milliseconds;

namespace {

constexpr const char* usage =
    "usage: http_hello [--port P] [--threads K] [--idle-ms MS] [--request-ms MS] [--write-ms MS]\n"
    "                  [--max-head BYTES] [--max-body BYTES]\n"
    "  --port        port on 127.0.0.1 (default 8080; 0: any free port)\n"
    "  --threads     worker threads (default: one per core)\n"
    "  --idle-ms     close a connection silent this long between requests (default 10000)\n"
    "  --request-ms  a request's head and body must arrive within this of its first byte,\n"
    "                else 408 and close (default 10000)\n"
    "  --write-ms    close a connection whose response cannot be written within this\n"
    "                (default 10000)\n"
    "  --max-head    longest request head in bytes, else 431 (default 8192)\n"
    "  --max-body    largest Content-Length in bytes, else 413 (default 1048576)\n";

constexpr std::string_view hello = "Hello, World!";

struct config {
  ms idle{10'000};
  ms request{10'000};
  ms write{10'000};
  http_head::limits head;
};

void append_response(std::string& out, int status, std::string_view reason, std::string_view body, bool close,
                     bool head_only) {
  out += fmt::format("HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n", status, reason,
                     body.size(), close ? "Connection: close\r\n" : "");
  if (!head_only) out += body;
}

/// Closes after an error answer: stops sending, then reads and drops what the client still sends
/// for a short while, so that its unread bytes do not turn the close into a reset that destroys
/// the answer before the client has read it.
corio::task<void> linger_close(tcp_stream& s, ms bound) {
  try {
    co_await s.shutdown();
    auto until = corio::now() + std::min(bound, ms(1000));
    char buf[4096];
    for (std::size_t total = 0; total < (1u << 20);) {
      auto left = until - corio::now();
      if (left <= left.zero()) break;
      std::size_t n = co_await corio::timeout(left, s.read(buf, sizeof buf));
      if (n == 0) break;
      total += n;
    }
  } catch (const corio::timed_out&) {
  } catch (const std::system_error&) {
  }
}

corio::task<void> serve_connection(tcp_stream s, config cfg) {
  s.set_nodelay(true);
  std::string in, out;
  char buf[16384];
  std::uint64_t skip_body = 0;                       // body bytes of the current request still to come
  std::optional<corio::clock::time_point> deadline;  // for the request under way
  bool close = false, error_close = false;
  try {
    while (!close) {
      bool mid_request = !in.empty() || skip_body > 0;
      if (!mid_request) deadline.reset();
      if (mid_request && !deadline) deadline = corio::now() + cfg.request;
      std::size_t n = 0;
      bool expired = false;
      try {
        if (deadline) {
          auto left = std::max(*deadline - corio::now(), corio::clock::duration::zero());
          n = co_await corio::timeout(left, s.read(buf, sizeof buf));
        } else {
          n = co_await corio::timeout(cfg.idle, s.read(buf, sizeof buf));
        }
      } catch (const corio::timed_out&) {
        if (!deadline) co_return;  // idle between requests: just close
        expired = true;
      }
      if (expired) {
        append_response(out, 408, "Request Timeout", "request not received in time\n", true, false);
        close = error_close = true;
      } else if (n == 0) {
        co_return;  // the client closed
      } else {
        in.append(buf, n);
        std::size_t pos = 0;
        bool finished_one = false;
        for (;;) {  // every complete request in the buffer (pipelining)
          if (skip_body) {
            auto k = static_cast<std::size_t>(std::min<std::uint64_t>(skip_body, in.size() - pos));
            pos += k;
            skip_body -= k;
            if (skip_body) break;
            finished_one = true;
          }
          if (pos == in.size()) break;
          auto r = http_head::parse(std::string_view(in).substr(pos), cfg.head);
          if (r.incomplete()) break;
          if (r.failed()) {
            append_response(out, r.err.status, r.err.reason, fmt::format("{}\n", r.err.detail), true, false);
            close = error_close = true;
            break;
          }
          const http_head::head& h = r.value;
          append_response(out, 200, "OK", hello, !h.keep_alive, h.method == "HEAD");
          bool keep = h.keep_alive;
          pos += h.head_bytes;
          skip_body = h.content_length;
          if (!skip_body) finished_one = true;
          if (!keep) {
            close = true;
            break;
          }
        }
        in.erase(0, pos);
        if (finished_one) deadline.reset();
      }
      if (!out.empty()) {
        co_await corio::timeout(cfg.write, s.write_all(out));
        out.clear();
      }
    }
    if (error_close) {
      co_await linger_close(s, cfg.idle);
    } else {
      co_await s.shutdown();
    }
  } catch (const corio::timed_out&) {
    // a write that did not finish in time: drop the connection
  } catch (const std::system_error&) {
    // reset by the peer
  }
}

corio::task<void> serve(std::uint16_t port, config cfg) {
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("http_hello listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  auto start_connection = [&cfg](tcp_stream s) { corio::spawn(serve_connection(std::move(s), cfg)).detach(); };
  co_await examples::accept_loop(listener, start_connection);  // out of descriptors: backs off, 1 ms to 1 s
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv, usage);
  a.allow_only({"port", "threads", "idle-ms", "request-ms", "write-ms", "max-head", "max-body"});
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  config cfg;
  cfg.idle = ms(a.number("idle-ms", 10'000));
  cfg.request = ms(a.number("request-ms", 10'000));
  cfg.write = ms(a.number("write-ms", 10'000));
  cfg.head.max_head_bytes = a.number("max-head", 8192);
  cfg.head.max_body_bytes = a.number("max-body", 1u << 20);
  b.build().block_on(serve(static_cast<std::uint16_t>(a.number("port", 8080)), cfg));
}
