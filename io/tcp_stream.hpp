#pragma once
// corio::net::tcp_stream — a connected TCP socket.
//
//   auto s = co_await tcp_stream::connect({"127.0.0.1", 8080});
//   co_await s.write_all("ping\n");
//   std::size_t n = co_await s.read(buf, sizeof buf);     // 0: the peer closed
//
// Every operation is one kernel operation on the worker running the task; the task resumes on
// whichever worker picks it up. Buffers must stay valid until the await completes (aborting
// the task keeps them alive until the kernel lets go). Errors are std::system_error carrying
// the errno (ECONNREFUSED, ECONNRESET, EPIPE, ...), with the addresses in the message; writes
// never raise SIGPIPE. A moved-from or closed stream fails with EBADF.

#include <chrono>

#include "socket.hpp"

namespace corio::net {

/// A connected TCP socket: read, read_exact, write, write_all, shutdown and split() come from
/// stream_socket (socket.hpp, with each one's cancel safety), addresses and close() from
/// socket_base. Move-only; dropping it closes the socket. Meant for one task at a time:
/// split() gives a read half and a write half that two tasks may use at once.
class tcp_stream : public stream_socket {
 public:
  /// A closed stream (every operation fails with EBADF).
  tcp_stream() noexcept = default;
  /// Adopts a connected socket descriptor.
  explicit tcp_stream(detail::fd f) noexcept : stream_socket(std::move(f)) {}

  /// Connects to `addr`. std::system_error (e.g. ECONNREFUSED) on failure.
  static task<tcp_stream> connect(socket_address addr);
  /// Connects within `limit`; corio::timed_out when it runs out (the attempt is cancelled).
  static task<tcp_stream> connect(socket_address addr, std::chrono::steady_clock::duration limit);

  /// TCP_NODELAY: send small writes at once instead of coalescing them (Nagle).
  void set_nodelay(bool on);
  /// Whether TCP_NODELAY is set. std::system_error on failure.
  bool nodelay() const;
};

}  // namespace corio::net
