#pragma once
// What tcp_echo (io_workloads.cpp) and tls_echo (tls_workloads.cpp) share, each piece a template
// on the stream type (corio::net::tcp_stream, or a corio::tls::stream over one), so that the
// two workloads run the same loops and differ only in the stream under them.

#include <corio/io/net.hpp>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bench.hpp"

namespace bench {

/// The server side of a connection: writes back every byte it reads until the peer closes.
/// Errors propagate to the caller.
template <class Stream>
corio::task<void> echo_until_eof(Stream& s) {
  char buf[4096];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) co_return;
    co_await s.write_all(buf, n);
  }
}

/// The accept loop of an echo server: each connection goes to serve(tcp_stream), a task run
/// detached. A failed accept (out of descriptors, say) is reported and retried after 10 ms.
template <class Serve>
corio::task<void> accept_forever(corio::net::tcp_listener& l, Serve serve) {
  using namespace std::chrono_literals;
  for (;;) {
    bool failed = false;
    try {
      corio::spawn(serve(co_await l.accept())).detach();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "accept: %s; backing off\n", e.what());
      failed = true;
    }
    if (failed) co_await corio::sleep(10ms);  // out of descriptors: don't spin
  }
}

/// One client connection: M rounds of a 64-byte message (tagged conn*M + round) written and
/// read back, each echo checked (a wrong one throws std::runtime_error "<workload>: bad echo");
/// then, if `shutdown_at_end`, s.shutdown() (a TLS stream's close_notify). Returns M.
template <class Stream>
corio::task<uint64_t> echo_rounds(Stream s, uint64_t conn, uint64_t msgs, const char* workload, bool shutdown_at_end) {
  char msg[64] = {}, echo[64];
  for (uint64_t i = 0; i < msgs; ++i) {
    uint64_t tag = conn * msgs + i;
    std::memcpy(msg, &tag, sizeof tag);
    co_await s.write_all(msg, sizeof msg);
    co_await s.read_exact(echo, sizeof echo);
    if (std::memcmp(msg, echo, sizeof msg) != 0) throw std::runtime_error(std::string(workload) + ": bad echo");
  }
  if (shutdown_at_end) co_await s.shutdown();
  co_return msgs;
}

/// The timed part of an echo client: echo_rounds on every connection at once, one task each.
/// The checksum is the number of rounds in all.
template <class Stream>
corio::task<result> time_echo_rounds(std::vector<Stream> conns, uint64_t msgs, const char* workload,
                                     bool shutdown_at_end) {
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> hs;
  for (uint64_t i = 0; i < conns.size(); ++i)
    hs.push_back(corio::spawn(echo_rounds(std::move(conns[i]), i, msgs, workload, shutdown_at_end)));
  uint64_t total = 0;
  for (auto& h : hs) total += co_await h;
  co_return result{seconds_since(t0), total};
}

}  // namespace bench
