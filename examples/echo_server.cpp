// An echo server: every connection gets back what it sends.
//   echo_server [--port P] [--threads K] [--idle-ms MS]   (port 0: any free port; prints where it listens)
//
// Limit: --idle-ms (default 60000) closes a connection on which nothing moves for that long: no
// byte arrives, or (a client that sends but never reads) its echo cannot be written.
// The accept loop shows what to do when the process runs out of descriptors (EMFILE): report
// it and back off instead of spinning on the error.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <fmt/format.h>

#include "args.hpp"

using namespace std::chrono_literals;
using corio::net::tcp_listener;
using corio::net::tcp_stream;

constexpr const char* usage =
    "usage: echo_server [--port P] [--threads K] [--idle-ms MS]\n"
    "  --port     port on 127.0.0.1 (default 7878; 0: any free port)\n"
    "  --threads  worker threads (default: one per core)\n"
    "  --idle-ms  close a connection on which no byte is read or written for this long\n"
    "             (default 60000)\n";

corio::task<void> echo(tcp_stream s, std::chrono::milliseconds idle) {
  s.set_nodelay(true);
  char buf[4096];
  try {
    for (;;) {
      std::size_t n = co_await corio::timeout(idle, s.read(buf, sizeof buf));
      if (n == 0) co_return;  // the client closed
      co_await corio::timeout(idle, s.write_all(buf, n));
    }
  } catch (const corio::timed_out&) {
    // idle for too long: close
  } catch (const std::system_error& e) {
    fmt::print(stderr, "connection: {}\n", e.what());  // e.g. reset by the peer
  }
}

corio::task<void> serve(std::uint16_t port, std::chrono::milliseconds idle) {
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("echo_server listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  auto backoff = 1ms;
  for (;;) {
    bool out_of_fds = false;
    try {
      corio::spawn(echo(co_await listener.accept(), idle)).detach();
      backoff = 1ms;
    } catch (const std::system_error& e) {
      if (e.code().value() != EMFILE && e.code().value() != ENFILE) throw;
      fmt::print(stderr, "accept: {}; retrying in {} ms\n", e.what(), backoff.count());
      out_of_fds = true;
    }
    if (out_of_fds) {
      co_await corio::sleep(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }
}

int main(int argc, char** argv) {
  examples::args a(argc, argv, usage);
  a.allow_only({"port", "threads", "idle-ms"});
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  b.build().block_on(
      serve(static_cast<std::uint16_t>(a.number("port", 7878)), std::chrono::milliseconds(a.number("idle-ms", 60'000))));
}
