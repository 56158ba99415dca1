#pragma once
// The socket helpers behind the public socket classes (../socket.hpp: socket_base,
// stream_socket, datagram_socket): opening, addresses, options, accepting, listening. The
// classes themselves are public; this header includes ../socket.hpp at its end so code that
// includes only it still sees them (as corio::net::... and, by their old names, detail::...).

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

namespace corio::detail {

/// A new socket (close-on-exec, non-blocking), or std::system_error naming `what`.
fd open_socket(int family, int type, const char* what);
CORIO_API net::socket_address local_address_of(int fd);
CORIO_API net::socket_address peer_address_of(int fd);
void set_int_option(int fd, int level, int name, int value, const char* what);
int get_int_option(int fd, int level, int name, const char* what);

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
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;
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

#include "../socket.hpp"  // IWYU pragma: export
#include "../../runtime/detail/export.hpp"
