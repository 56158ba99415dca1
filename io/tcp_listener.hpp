#pragma once
// corio::net::tcp_listener — a listening TCP socket.
//
//   auto l = tcp_listener::bind({"127.0.0.1", 0});    // port 0: the kernel picks one
//   auto port = l.local_address().port();
//   for (;;) corio::spawn(serve(co_await l.accept())).detach();
//
// accept() errors are std::system_error: in particular EMFILE/ENFILE when the process is out
// of descriptors; an accept loop should report it and back off (sleep) rather than retry at
// once. An accept cancelled as it completes closes the connection it got.
//
// On the io_uring backend (kernel 5.19+) a busy listener (past its first 32 accepts) keeps one
// multishot accept armed: the kernel accepts connections as they arrive and the listener queues
// up to detail::accept_queue::capacity of them, so an accept() that finds one queued costs no
// system call. A full queue stops the kernel accepting (connections wait in the backlog). See
// detail/accept_queue.hpp for which worker runs what; CORIO_ACCEPT_MULTISHOT=0 turns it off.

#include <memory>

#include "../runtime/detail/export.hpp"
#include "detail/accept_queue.hpp"
#include "socket.hpp"
#include "tcp_stream.hpp"

namespace corio::net {

/// A listening TCP socket. Move-only; dropping it closes the socket.
class CORIO_API tcp_listener : public socket_base {
 public:
  /// The awaitable accept() returns: resumes with the connected tcp_stream.
  using accept_operation = detail::accept_operation<tcp_stream>;

  /// A closed listener (every operation fails with EBADF).
  tcp_listener() noexcept = default;

  /// Binds and listens (SO_REUSEADDR by default; SO_REUSEPORT, backlog in `opts`).
  /// std::system_error naming the address on failure (EADDRINUSE, EACCES, ...).
  static tcp_listener bind(const socket_address& addr, const listen_options& opts = {});

  /// Takes over `o`'s socket and queue; `o` is left closed.
  tcp_listener(tcp_listener&&) noexcept = default;
  /// Closes this listener, then takes over `o`'s socket and queue; `o` is left closed.
  tcp_listener& operator=(tcp_listener&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::move(o.fd_);
      queue_ = std::move(o.queue_);
    }
    return *this;
  }
  ~tcp_listener() { close(); }

  /// Waits for the next connection (one already queued is returned at once). Any number of
  /// tasks on any workers may wait at once; each connection goes to one of them, oldest
  /// waiter first. Aborting a waiting task loses no connection: it stays for the next accept.
  /// std::system_error on failure: EMFILE / ENFILE when the process is out of descriptors (back
  /// off before retrying), EBADF once closed.
  ///
  /// **Cancel safety:** cancel-safe: dropped at its suspension point (an aborted task, a lost
  /// select, a timeout) it loses no connection.
  accept_operation accept() { return accept_operation(fd_.get(), queue_); }

  /// Closes the socket now: connections the kernel accepted for this listener but no accept()
  /// took are closed, and tasks waiting in accept() fail with EBADF (on the io_uring backend;
  /// under epoll, as for any descriptor, waiters are not woken: abort them). An armed
  /// multishot request is cancelled; until that lands on its worker (its next park), the
  /// kernel may still accept connections, which are closed as they arrive.
  void close() noexcept;

 private:
  explicit tcp_listener(owned_fd f);

  std::shared_ptr<detail::accept_queue> queue_;  // null when closed
};

}  // namespace corio::net
