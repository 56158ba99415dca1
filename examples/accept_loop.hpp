#pragma once
// The accept loop shared by the example servers (chat_server, http_hello, https_hello,
// tls_echo_server): each connection gets its own task, and a failed accept does not stop the
// server. accept fails when the process runs out of descriptors (EMFILE, ENFILE) or, rarely, of
// kernel memory (ENOBUFS, ENOMEM); trying again at once would spin on the same error, so the
// loop reports it and waits first, longer after each failure in a row.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <system_error>

namespace examples {

/// How long accept_loop waits after a failed accept: `first`, doubled after each further
/// failure in a row, up to `max`.
struct backoff {
  std::chrono::milliseconds first{1};
  std::chrono::milliseconds max{1000};
};

/// Accepts connections on `listener` for as long as the calling task runs, handing each to
/// `on_accept(tcp_stream)`, which starts the connection's task.
template <class OnAccept>
corio::task<void> accept_loop(corio::net::tcp_listener& listener, OnAccept on_accept, backoff wait = {}) {
  auto delay = wait.first;
  for (;;) {
    bool failed = false;
    try {
      on_accept(co_await listener.accept());
      delay = wait.first;
    } catch (const std::system_error& e) {
      fmt::print(stderr, "accept: {}; retrying in {} ms\n", e.what(), delay.count());
      failed = true;
    }
    if (failed) {
      co_await corio::sleep(delay);
      delay = std::min(delay * 2, wait.max);
    }
  }
}

}  // namespace examples
