#pragma once
// What echo_client and tls_echo_client share: the lines each connection sends and checks, and
// the run over all connections with its summary line. The two clients differ only in how a
// connection is made (and closed).

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

/// Sends `msgs` lines "client ID message I\n" on `s`, reading each one back before the next;
/// an echo that differs throws std::runtime_error naming the client.
template <class Stream>
corio::task<void> send_and_check(Stream& s, std::size_t id, std::size_t msgs) {
  for (std::size_t i = 0; i < msgs; ++i) {
    std::string msg = fmt::format("client {} message {}\n", id, i);
    co_await s.write_all(msg);
    std::string back(msg.size(), '\0');
    co_await s.read_exact(back.data(), back.size());
    if (back != msg) throw std::runtime_error(fmt::format("client {}: bad echo '{}'", id, back));
  }
}

/// Runs all `clients` at once (each returns how many of its messages came back), then prints
/// "<program>: N messages echoed on C connections in T s". Returns the exit status: 0 if every
/// one of the `msgs` messages of every client came back, else 1. The first client to throw
/// ends the run with its exception.
inline corio::task<int> run_clients(const char* program, std::vector<corio::task<std::size_t>> clients,
                                    std::size_t msgs) {
  const std::size_t conns = clients.size();
  auto start = corio::clock::now();
  std::size_t total = 0;
  for (std::size_t n : co_await corio::join_all(std::move(clients))) total += n;
  double secs = std::chrono::duration<double>(corio::clock::now() - start).count();
  fmt::print("{}: {} messages echoed on {} connections in {:.3f} s\n", program, total, conns, secs);
  co_return total == conns * msgs ? 0 : 1;
}

}  // namespace examples
