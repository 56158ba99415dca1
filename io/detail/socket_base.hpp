#pragma once
// What every socket type shares: an owned descriptor, its addresses and socket options, and
// (for stream sockets) reading and writing. The public types (tcp_stream, unix_stream, their
// listeners, udp_socket, unix_datagram) are thin layers over these.

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "../../runtime/task.hpp"
#include "../socket_address.hpp"
#include "fd.hpp"
#include "io_call.hpp"
#include "stream_ops.hpp"

namespace corio::detail {

/// A new socket (close-on-exec, non-blocking), or std::system_error naming `what`.
fd open_socket(int family, int type, const char* what);
net::socket_address local_address_of(int fd);
net::socket_address peer_address_of(int fd);
void set_int_option(int fd, int level, int name, int value, const char* what);
int get_int_option(int fd, int level, int name, const char* what);

class socket_base {
 public:
  socket_base() noexcept = default;
  explicit socket_base(fd f) noexcept : fd_(std::move(f)) {}

  /// The address this socket is bound to (std::system_error if it is closed).
  net::socket_address local_address() const { return local_address_of(fd_.get()); }
  /// The connected peer's address (std::system_error if not connected, or closed).
  net::socket_address peer_address() const { return peer_address_of(fd_.get()); }
  int native_handle() const noexcept { return fd_.get(); }
  /// False once closed or moved from; operations on it then fail with EBADF.
  bool is_open() const noexcept { return fd_.valid(); }
  /// Closes the descriptor now (any pending operation on it fails).
  void close() noexcept { fd_.reset(); }

 protected:
  fd fd_;
};

/// Reading side of a connected stream socket (also a split's read half).
template <class Derived>
class stream_reader {
 public:
  /// Reads what is available, up to n bytes (waits for at least one): the count, 0 at end of
  /// stream. The buffer must stay valid until the await completes.
  io_call<to_size> read(void* data, std::size_t n) { return read_some(self_fd(), data, n, true); }
  io_call<to_size> read(std::span<std::byte> buf) { return read(buf.data(), buf.size()); }
  io_call<to_size> read(std::span<char> buf) { return read(buf.data(), buf.size()); }
  /// Reads exactly n bytes; corio::unexpected_eof if the peer closes first.
  task<void> read_exact(void* data, std::size_t n) { return detail::read_exact(self_fd(), data, n, true); }
  task<void> read_exact(std::span<std::byte> buf) { return read_exact(buf.data(), buf.size()); }
  task<void> read_exact(std::span<char> buf) { return read_exact(buf.data(), buf.size()); }

 private:
  int self_fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
};

/// Writing side of a connected stream socket (also a split's write half). Writes never raise
/// SIGPIPE: a reset peer is a std::system_error (EPIPE or ECONNRESET).
template <class Derived>
class stream_writer {
 public:
  /// Writes up to n bytes (at least one): the count, which may be short.
  io_call<to_size> write(const void* data, std::size_t n) { return write_some(self_fd(), data, n, true); }
  io_call<to_size> write(std::string_view s) { return write(s.data(), s.size()); }
  io_call<to_size> write(std::span<const std::byte> buf) { return write(buf.data(), buf.size()); }
  /// Writes all n bytes (finishing short writes).
  task<void> write_all(const void* data, std::size_t n) { return detail::write_all(self_fd(), data, n, true); }
  task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  task<void> write_all(std::span<const std::byte> buf) { return write_all(buf.data(), buf.size()); }
  /// Shuts down the write direction (the peer reads end of stream); SHUT_RD / SHUT_RDWR too.
  io_call<to_void> shutdown(int how = SHUT_WR) {
    io_request r;
    r.kind = io_kind::shutdown;
    r.fd = self_fd();
    r.flags = how;
    return io_call<to_void>(r, "shutdown");
  }

 private:
  int self_fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
};

/// The two halves of a split stream: independently usable from two tasks at once (one reads,
/// one writes). The descriptor closes when both halves are gone.
class read_half : public stream_reader<read_half> {
 public:
  explicit read_half(std::shared_ptr<fd> f) noexcept : fd_(std::move(f)) {}
  int native_handle() const noexcept { return fd_ ? fd_->get() : -1; }
  net::socket_address peer_address() const { return peer_address_of(native_handle()); }

 private:
  std::shared_ptr<fd> fd_;
};
class write_half : public stream_writer<write_half> {
 public:
  explicit write_half(std::shared_ptr<fd> f) noexcept : fd_(std::move(f)) {}
  int native_handle() const noexcept { return fd_ ? fd_->get() : -1; }
  net::socket_address peer_address() const { return peer_address_of(native_handle()); }

 private:
  std::shared_ptr<fd> fd_;
};

/// A connected stream socket (TCP or Unix).
class stream_socket : public socket_base, public stream_reader<stream_socket>, public stream_writer<stream_socket> {
 public:
  using socket_base::socket_base;
  using socket_base::native_handle;
  /// Splits into a read half and a write half (see above); this stream is left closed.
  std::pair<read_half, write_half> split() && {
    auto shared = std::make_shared<fd>(std::move(fd_));
    return {read_half(shared), write_half(shared)};
  }

 protected:
  /// Opens a socket of `family` and connects it to `addr`.
  static task<fd> connect_to(net::socket_address addr, int family);
};

/// A one-shot accept4 on listening descriptor `lfd` (the new socket non-blocking).
inline io_request accept_request(int lfd) noexcept {
  io_request r;
  r.kind = io_kind::accept;
  r.fd = lfd;
  r.flags = SOCK_NONBLOCK;
  return r;
}

/// Accepts a connection on listening descriptor `lfd`, producing a Stream.
template <class Stream>
class [[nodiscard]] accept_awaitable {
 public:
  explicit accept_awaitable(int lfd) noexcept : op_(accept_request(lfd), "accept") {}
  accept_awaitable(accept_awaitable&& o) noexcept : op_(std::move(o.op_)) {}

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    op_.request().addr = peer_.data();  // set here: this object no longer moves
    op_.request().addrlen_out = peer_.size_ptr();
    return op_.await_suspend(h);
  }
  Stream await_resume() {
    int r = op_.await_resume();
    if (r < 0) throw_io_error(-r, "accept", op_.request().fd);
    return Stream(fd(r));
  }

 private:
  io_awaitable op_;
  net::socket_address peer_;
};

/// Options of a listening socket.
struct listen_options {
  int backlog = 1024;         ///< length of the kernel's queue of pending connections
  bool reuse_address = true;  ///< SO_REUSEADDR: rebind at once after a restart
  bool reuse_port = false;    ///< SO_REUSEPORT: several listeners share the port
};

/// Binds and listens on `addr` (SOCK_STREAM); std::system_error naming the address on failure.
fd listen_on(const net::socket_address& addr, const listen_options& opts);

}  // namespace corio::detail
