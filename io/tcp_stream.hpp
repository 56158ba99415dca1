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
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "../runtime/detail/export.hpp"
#include "socket.hpp"

namespace corio::net {

/// A connected TCP socket: read, read_exact, write, write_all, shutdown and split() come from
/// stream_socket (socket.hpp, with each one's cancel safety), addresses and close() from
/// socket_base. Move-only; dropping it closes the socket. Meant for one task at a time:
/// split() gives a read half and a write half that two tasks may use at once.
class CORIO_API tcp_stream : public stream_socket {
 public:
  /// A closed stream (every operation fails with EBADF).
  tcp_stream() noexcept = default;
  /// Adopts a connected socket descriptor.
  explicit tcp_stream(owned_fd f) noexcept : stream_socket(std::move(f)) {}

  /// Connects to `addr`. std::system_error (e.g. ECONNREFUSED) on failure.
  static task<tcp_stream> connect(socket_address addr);
  /// Connects within `limit`; corio::timed_out when it runs out (the attempt is cancelled).
  static task<tcp_stream> connect(socket_address addr, std::chrono::steady_clock::duration limit);

  // --- Connecting by host name (issue 18) ----------------------------------------------------
  // Like Tokio's TcpStream::connect("host:port"): resolve, then try each address in turn.

  /// Resolves `host` (a name or a numeric address, through corio::net::resolve, off the
  /// worker) and connects to its addresses in the resolver's order until one accepts.
  /// Throws std::system_error naming the host and port: the resolver's error if the name does
  /// not resolve, else the last address's connect error (with that address and how many were
  /// tried). Cancel-safe in that nothing leaks: dropped at a suspension point, the lookup or
  /// the connect in flight is cancelled and its socket closed (a connection the kernel had
  /// just made is closed too). Any task may call it; the caller resumes on a worker.
  static task<tcp_stream> connect(std::string host, std::uint16_t port);

  /// "host:port" or "[v6-address]:port", as connect(host, port). Throws
  /// std::invalid_argument naming the text when it has no ':port', an empty host or a port
  /// outside 0..65535 (or a NUL byte). A template so that connect({"1.2.3.4", 80}) still
  /// means a socket_address.
  template <class S>
    requires std::convertible_to<const S&, std::string_view> && (!std::same_as<S, socket_address>)
  static task<tcp_stream> connect(const S& host_port) {
    return connect_host_port(std::string(std::string_view(host_port)));
  }

  /// TCP_NODELAY: send small writes at once instead of coalescing them (Nagle).
  void set_nodelay(bool on);
  /// Whether TCP_NODELAY is set. std::system_error on failure.
  bool nodelay() const;

 private:
  static task<tcp_stream> connect_host_port(std::string text);
};

}  // namespace corio::net
