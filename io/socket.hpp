#pragma once
// corio::net::socket_base, stream_socket, datagram_socket — what every socket type shares.
//
// tcp_stream / unix_stream are stream_sockets (read, read_exact, write, write_all, shutdown,
// split), udp_socket / unix_datagram are datagram_sockets (send_to, recv_from, connect, send,
// recv), and all of them and the listeners are socket_bases (addresses, close). Each operation
// is one kernel operation (io_uring, or epoll readiness plus the system call) started by the
// task that awaits it; the task resumes on whichever worker picks it up.
//
// Buffers: the caller owns them; they must stay valid until the await completes. If the task
// is aborted (or the operation loses a select / timeout) while the kernel holds the buffer, the
// operation is cancelled in the kernel and the task's frame, and so a buffer in it, is kept
// alive until the kernel lets go. A stream read the kernel completed anyway leaves what it read
// to the stream's next read (detail/read_stash.hpp).
//
// Threads: a stream socket is meant for one task at a time (split() it to read and write from
// two tasks); a datagram socket may be shared by tasks that only send and receive. close(),
// is_open() and the address getters may be called from any thread that owns the object at
// that moment; operations are awaited inside tasks, on any worker.

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "../runtime/detail/export.hpp"
#include "../runtime/task.hpp"
#include "detail/fd.hpp"
#include "detail/io_call.hpp"
#include "detail/socket_base.hpp"
#include "detail/stream_ops.hpp"
#include "owned_fd.hpp"
#include "socket_address.hpp"

namespace corio::net {

/// The awaitable of one read on a stream (stream_socket::read, read_half::read): `co_await`
/// resumes with the number of bytes read, 0 at end of stream. Throws std::system_error (the
/// errno, the addresses in the message) on failure.
///
/// **Cancel safety:** cancel-safe while it has returned nothing. Dropped at its suspension
/// point (it lost a select or a timeout, or its task was aborted), the kernel request is
/// cancelled; if the kernel had already completed it, what it read (bytes, the end of the
/// stream, or an error) is kept by the stream and returned by its next read or read_exact, in
/// order. So the same read can simply be awaited again: no byte is lost or reordered. Tokio's
/// `AsyncReadExt::read` makes the same promise.
using read_operation = detail::stream_read;
/// The awaitable of one receive on a connected datagram socket (datagram_socket::recv):
/// resumes with the datagram's size (truncated to the buffer). std::system_error on failure.
///
/// **Cancel safety:** cancel-safe while nothing was received, with one race: a datagram the
/// kernel delivered exactly as the receive was dropped is lost (datagrams may be lost anyway).
using recv_operation = detail::io_call<detail::to_size>;
/// The awaitable of one write or send (stream_socket::write, write_half::write,
/// datagram_socket::send): `co_await` resumes with the number of bytes written, which may be
/// fewer than asked. Throws std::system_error (EPIPE, ECONNRESET, ...) on failure; never
/// raises SIGPIPE.
///
/// **Cancel safety:** not cancel-safe. Dropped at its suspension point, the write may already
/// have been performed by the kernel (the bytes are on their way to the peer) although the
/// count is never reported; the caller cannot tell whether 0 or n bytes went out.
using write_operation = detail::io_call<detail::to_size>;
/// The awaitable of stream_socket::shutdown: resumes with nothing; std::system_error on
/// failure (ENOTCONN for an unconnected socket). Dropped, the shutdown may or may not have
/// happened.
using shutdown_operation = detail::io_call<detail::to_void>;
/// Options of a listening socket: `backlog` (1024, the kernel's queue of pending connections),
/// `reuse_address` (true: SO_REUSEADDR, rebind at once after a restart), `reuse_port` (false:
/// SO_REUSEPORT, several listeners share the port).
using listen_options = detail::listen_options;

/// An owned socket descriptor, its addresses and close(): the base of every socket type.
/// Move-only (through the derived types); dropping it closes the descriptor.
class CORIO_API socket_base {
 public:
  /// A closed socket (every operation fails with EBADF).
  socket_base() noexcept = default;
  /// Adopts an open socket descriptor, closed when this object is dropped.
  explicit socket_base(owned_fd f) noexcept : fd_(std::move(f)) {}

  /// The address this socket is bound to. Throws std::system_error if it is closed.
  socket_address local_address() const { return detail::local_address_of(fd_.get()); }
  /// The connected peer's address. Throws std::system_error if not connected, or closed.
  socket_address peer_address() const { return detail::peer_address_of(fd_.get()); }
  /// The descriptor (-1 when closed); still owned by this object.
  int native_handle() const noexcept { return fd_.get(); }
  /// False once closed or moved from; operations on it then fail with EBADF.
  bool is_open() const noexcept { return fd_.valid(); }
  /// Closes the descriptor now (a pending operation on it fails). Never throws.
  void close() noexcept { fd_.reset(); }

 protected:
  /// The owned descriptor.
  owned_fd fd_;
};

/// The reading side of a connected stream socket (tcp_stream, unix_stream, read_half).
template <class Derived>
class stream_reader {
 public:
  /// Reads what is available, up to `n` bytes, waiting for at least one: resumes with the
  /// count, 0 at end of stream. std::system_error (ECONNRESET, EBADF, ...) on failure. The
  /// buffer, and this stream, must stay valid until the await completes.
  ///
  /// **Cancel safety:** cancel-safe (see read_operation): a read dropped after the kernel
  /// completed it leaves what it read to the stream's next read.
  read_operation read(void* data, std::size_t n) { return detail::read_some(self_fd(), data, n, true, &stash_); }
  /// read() into `buf`.
  read_operation read(std::span<std::byte> buf) { return read(buf.data(), buf.size()); }
  /// read() into `buf`.
  read_operation read(std::span<char> buf) { return read(buf.data(), buf.size()); }
  /// Reads exactly `n` bytes, however many reads it takes. corio::unexpected_eof (with the
  /// count that did arrive) if the peer closes first; std::system_error on failure.
  ///
  /// **Cancel safety:** not cancel-safe. Dropped part-way, the bytes read so far are in
  /// `data[0, k)` but k is not reported, and they are gone from the socket.
  task<void> read_exact(void* data, std::size_t n) { return detail::read_exact(self_fd(), data, n, true, &stash_); }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<std::byte> buf) { return read_exact(buf.data(), buf.size()); }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<char> buf) { return read_exact(buf.data(), buf.size()); }

 private:
  friend class stream_socket;  // split() hands the stash to the read half
  int self_fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }

  detail::read_stash stash_;  ///< what a dropped read took, for the next read (read_stash.hpp)
};

/// The writing side of a connected stream socket (tcp_stream, unix_stream, write_half). Writes
/// never raise SIGPIPE: a reset peer is a std::system_error (EPIPE or ECONNRESET).
template <class Derived>
class stream_writer {
 public:
  /// Writes up to `n` bytes (at least one): resumes with the count, which may be short.
  /// std::system_error on failure. The buffer must stay valid until the await completes.
  ///
  /// **Cancel safety:** not cancel-safe (see write_operation): dropped, some or all of the
  /// bytes may have been sent.
  write_operation write(const void* data, std::size_t n) { return detail::write_some(self_fd(), data, n, true); }
  /// write() of `s`.
  write_operation write(std::string_view s) { return write(s.data(), s.size()); }
  /// write() of `buf`.
  write_operation write(std::span<const std::byte> buf) { return write(buf.data(), buf.size()); }
  /// Writes all `n` bytes, finishing short writes. std::system_error on failure (the bytes
  /// before the failing write were sent).
  ///
  /// **Cancel safety:** not cancel-safe. Dropped part-way, a prefix of the data (of unknown
  /// length, possibly all of it) has been sent; the stream is then best shut down, since the
  /// peer sees a truncated message.
  task<void> write_all(const void* data, std::size_t n) { return detail::write_all(self_fd(), data, n, true); }
  /// write_all() of `s`.
  task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  /// write_all() of `buf`.
  task<void> write_all(std::span<const std::byte> buf) { return write_all(buf.data(), buf.size()); }
  /// Shuts down the write direction (the peer reads end of stream); SHUT_RD / SHUT_RDWR too.
  /// std::system_error on failure. Not cancel-safe: dropped, it may have taken effect.
  shutdown_operation shutdown(int how = SHUT_WR) {
    detail::io_request r;
    r.kind = detail::io_kind::shutdown;
    r.fd = self_fd();
    r.flags = how;
    return shutdown_operation(r, "shutdown");
  }

 private:
  int self_fd() const noexcept { return static_cast<const Derived*>(this)->native_handle(); }
};

/// The read half of a split stream (stream_socket::split): one task may read from it while
/// another writes to the write_half, on any workers. The descriptor closes when both halves
/// are gone. Copyable only by moving; one task at a time per half.
class CORIO_API read_half : public stream_reader<read_half> {
 public:
  /// Shares ownership of the split stream's descriptor.
  explicit read_half(std::shared_ptr<owned_fd> f) noexcept : fd_(std::move(f)) {}
  /// The descriptor (-1 for a moved-from half).
  int native_handle() const noexcept { return fd_ ? fd_->get() : -1; }
  /// The connected peer's address; std::system_error on failure.
  socket_address peer_address() const { return detail::peer_address_of(native_handle()); }

 private:
  std::shared_ptr<owned_fd> fd_;
};

/// The write half of a split stream (stream_socket::split); see read_half.
class CORIO_API write_half : public stream_writer<write_half> {
 public:
  /// Shares ownership of the split stream's descriptor.
  explicit write_half(std::shared_ptr<owned_fd> f) noexcept : fd_(std::move(f)) {}
  /// The descriptor (-1 for a moved-from half).
  int native_handle() const noexcept { return fd_ ? fd_->get() : -1; }
  /// The connected peer's address; std::system_error on failure.
  socket_address peer_address() const { return detail::peer_address_of(native_handle()); }

 private:
  std::shared_ptr<owned_fd> fd_;
};

/// A connected stream socket (TCP or Unix): socket_base, stream_reader and stream_writer in
/// one. Move-only; dropping it closes the socket. Meant for one task at a time: split() gives a
/// read half and a write half that two tasks may use at once.
class CORIO_API stream_socket : public socket_base, public stream_reader<stream_socket>, public stream_writer<stream_socket> {
 public:
  using socket_base::socket_base;
  using socket_base::native_handle;
  /// Splits into a read half and a write half (see read_half); this stream is left closed.
  /// Never throws but std::bad_alloc.
  std::pair<read_half, write_half> split() && {
    auto shared = std::make_shared<owned_fd>(std::move(fd_));
    std::pair<read_half, write_half> halves{read_half(shared), write_half(shared)};
    static_cast<stream_reader<read_half>&>(halves.first).stash_ =
        std::move(static_cast<stream_reader<stream_socket>&>(*this).stash_);  // kept bytes read first
    return halves;
  }

 protected:
  /// Opens a socket of `family` and connects it to `addr`.
  static task<owned_fd> connect_to(socket_address addr, int family);
};

/// A datagram socket (UDP or Unix): each send is one datagram, each receive returns one
/// datagram, truncated to the buffer. Move-only; dropping it closes the socket. Several tasks
/// may send and receive on one socket at once (each datagram goes to one receiver), as long
/// as none of them closes, moves or destroys it meanwhile.
class CORIO_API datagram_socket : public socket_base {
 public:
  using socket_base::socket_base;

  /// Sets the default peer: send / recv then use it, and datagrams from others are dropped.
  /// std::system_error naming the address on failure.
  void connect(const socket_address& addr);

  /// Sends one datagram of `n` bytes to `to`; resumes with its size. std::system_error naming
  /// the address on failure (EMSGSIZE for too large a datagram).
  ///
  /// **Cancel safety:** not cancel-safe: dropped, the datagram may have been sent.
  task<std::size_t> send_to(const void* data, std::size_t n, socket_address to);
  /// Receives one datagram (truncated to `n` bytes): resumes with its size and sender.
  /// std::system_error on failure.
  ///
  /// **Cancel safety:** cancel-safe while nothing was received (as read_operation: a datagram
  /// received exactly as the receive is dropped is lost).
  task<std::pair<std::size_t, socket_address>> recv_from(void* data, std::size_t n);
  /// On a connected socket: sends one datagram to the peer; resumes with its size.
  /// Not cancel-safe (dropped, the datagram may have been sent).
  write_operation send(const void* data, std::size_t n) {
    return write_operation(detail::send_request(fd_.get(), data, n), "send");
  }
  /// On a connected socket: receives one datagram from the peer (truncated to `n` bytes);
  /// resumes with its size. Cancel-safe as recv_from (see recv_operation).
  recv_operation recv(void* data, std::size_t n) {
    return recv_operation(detail::recv_request(fd_.get(), data, n), "recv");
  }

 protected:
  /// A new socket of addr's family bound to `addr`; std::system_error naming it on failure.
  static owned_fd bound(const socket_address& addr, const char* what);
};

}  // namespace corio::net

namespace corio::detail {
// The names these classes had when they lived in detail/socket_base.hpp.
using net::datagram_socket;
using net::read_half;
using net::socket_base;
using net::stream_reader;
using net::stream_socket;
using net::stream_writer;
using net::write_half;
}  // namespace corio::detail
