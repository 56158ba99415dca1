// Socket set-up (synchronous system calls) and the multi-step socket operations.

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <string>
#include <vector>
#include <utility>
#include <system_error>

#include "../runtime/time.hpp"
#include "resolve.hpp"
#include "tcp_listener.hpp"
#include "tcp_stream.hpp"
#include "udp_socket.hpp"
#include "unix_datagram.hpp"
#include "unix_stream.hpp"

namespace corio::detail {

fd open_socket(int family, int type, const char* what) {
  int s = ::socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) throw std::system_error(errno, std::generic_category(), what);
  return fd(s);
}

net::socket_address local_address_of(int f) {
  net::socket_address a;
  if (::getsockname(f, a.data(), a.size_ptr()) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("getsockname (fd {})", f));
  return a;
}

net::socket_address peer_address_of(int f) {
  net::socket_address a;
  if (::getpeername(f, a.data(), a.size_ptr()) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("getpeername (fd {})", f));
  return a;
}

void set_int_option(int f, int level, int name, int value, const char* what) {
  if (::setsockopt(f, level, name, &value, sizeof value) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("setsockopt {} (fd {})", what, f));
}

int get_int_option(int f, int level, int name, const char* what) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(f, level, name, &value, &len) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("getsockopt {} (fd {})", what, f));
  return value;
}

}  // namespace corio::detail

namespace corio::net {

task<detail::fd> stream_socket::connect_to(socket_address addr, int family) {
  using namespace detail;
  fd s = open_socket(family, SOCK_STREAM, "socket");
  io_request r;
  r.kind = io_kind::connect;
  r.fd = s.get();
  r.addr = addr.data();
  r.addrlen = addr.size();
  int rc = co_await io_awaitable(r, "connect");
  if (rc < 0)
    throw std::system_error(-rc, std::generic_category(), fmt::format("connect to {}", addr.to_string()));
  co_return s;
}

}  // namespace corio::net

namespace corio::detail {

fd listen_on(const net::socket_address& addr, const listen_options& opts) {
  fd s = open_socket(addr.family(), SOCK_STREAM, "socket");
  if (!addr.is_unix()) {
    if (opts.reuse_address) set_int_option(s.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    if (opts.reuse_port) set_int_option(s.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  }
  if (::bind(s.get(), addr.data(), addr.size()) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("bind {}", addr.to_string()));
  if (::listen(s.get(), opts.backlog) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("listen on {}", addr.to_string()));
  return s;
}

}  // namespace corio::detail

namespace corio::net {

using detail::io_kind;
using detail::io_request;
using detail::open_socket;

namespace {

/// The sendmsg or recvmsg request of send_to and recv_from: one buffer, to or from the address
/// at `name` (`name_len` bytes; recvmsg writes the sender's length back into msg.msg_namelen).
/// The request points into this object, which therefore stays where it was made.
struct one_buffer_msg {
  iovec iov;
  msghdr msg{};
  io_request request;

  one_buffer_msg(io_kind kind, int fd, void* data, std::size_t n, sockaddr* name, socklen_t name_len)
      : iov{data, n} {
    msg.msg_name = name;
    msg.msg_namelen = name_len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    request.kind = kind;
    request.fd = fd;
    request.msg = &msg;
  }
  one_buffer_msg(const one_buffer_msg&) = delete;
  one_buffer_msg& operator=(const one_buffer_msg&) = delete;
};

}  // namespace

void datagram_socket::connect(const socket_address& addr) {
  if (::connect(fd_.get(), addr.data(), addr.size()) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("connect to {}", addr.to_string()));
}

detail::fd datagram_socket::bound(const socket_address& addr, const char* what) {
  detail::fd s = open_socket(addr.family(), SOCK_DGRAM, what);
  if (::bind(s.get(), addr.data(), addr.size()) < 0)
    throw std::system_error(errno, std::generic_category(), fmt::format("bind {}", addr.to_string()));
  return s;
}

task<std::size_t> datagram_socket::send_to(const void* data, std::size_t n, socket_address to) {
  one_buffer_msg m(io_kind::sendmsg, fd_.get(), const_cast<void*>(data), n, to.data(), to.size());
  int rc = co_await detail::io_awaitable(m.request, "sendto");
  if (rc < 0)
    throw std::system_error(-rc, std::generic_category(), fmt::format("send_to {}", to.to_string()));
  co_return static_cast<std::size_t>(rc);
}

task<std::pair<std::size_t, socket_address>> datagram_socket::recv_from(void* data, std::size_t n) {
  socket_address from;
  one_buffer_msg m(io_kind::recvmsg, fd_.get(), data, n, from.data(), *from.size_ptr());
  int rc = co_await detail::io_awaitable(m.request, "recvfrom");
  if (rc < 0) detail::throw_io_error(-rc, "recv_from", fd_.get());
  co_return std::pair{static_cast<std::size_t>(rc), socket_address(from.data(), m.msg.msg_namelen)};
}

}  // namespace corio::net

namespace corio::net {

task<tcp_stream> tcp_stream::connect(socket_address addr) {
  co_return tcp_stream(co_await connect_to(addr, addr.family()));
}

task<tcp_stream> tcp_stream::connect(socket_address addr, std::chrono::steady_clock::duration limit) {
  co_return co_await corio::timeout(limit, connect(addr));
}

// connect by host name (issue 18): resolve, then each address in turn; the error of the last.
task<tcp_stream> tcp_stream::connect(std::string host, std::uint16_t port) {
  std::vector<socket_address> addrs;
  try {
    addrs = co_await resolve(host, port);
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), fmt::format("connect to {}:{}: cannot resolve the host", host, port));
  }
  std::error_code last;
  socket_address last_addr;
  for (const socket_address& a : addrs) {
    try {
      co_return co_await connect(a);
    } catch (const std::system_error& e) {
      last = e.code();
      last_addr = a;
    }
  }
  throw std::system_error(last, fmt::format("connect to {}:{}: {} address{} tried, the last {}", host, port, addrs.size(),
                                            addrs.size() == 1 ? "" : "es", last_addr.to_string()));
}

task<tcp_stream> tcp_stream::connect_host_port(std::string text) {
  auto bad = [&](std::string_view why) {
    std::string shown = text.substr(0, text.find('\0'));
    return std::invalid_argument(fmt::format("corio::net::tcp_stream::connect: '{}': {}", shown, why));
  };
  if (text.find('\0') != std::string::npos) throw bad("contains a NUL byte");
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) throw bad("missing ':port'");
  std::string host = text.substr(0, colon), port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos) throw bad("an IPv6 host must be in brackets, as in [::1]:80");
  if (host.empty()) throw bad("missing host before ':port'");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    throw bad("the port must be a number in 0..65535");
  co_return co_await connect(std::move(host), static_cast<std::uint16_t>(port));
}

void tcp_stream::set_nodelay(bool on) { detail::set_int_option(fd_.get(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "TCP_NODELAY"); }
bool tcp_stream::nodelay() const { return detail::get_int_option(fd_.get(), IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY") != 0; }

tcp_listener::tcp_listener(detail::fd f) : socket_base(std::move(f)), queue_(std::make_shared<detail::accept_queue>(fd_.get())) {}

void tcp_listener::close() noexcept {
  // The armed multishot request keeps the socket listening in the kernel until the
  // cancellation close() sends lands on its ring (at that worker's next park). Shutting the
  // socket down would end it at once, but the socket may be shared (fork, dup, SCM_RIGHTS):
  // closing our descriptor must not stop another owner's listening.
  if (queue_) std::exchange(queue_, nullptr)->close();
  fd_.reset();
}

tcp_listener tcp_listener::bind(const socket_address& addr, const listen_options& opts) {
  if (!addr.is_ipv4() && !addr.is_ipv6())
    throw std::invalid_argument("corio::net::tcp_listener::bind: " + addr.to_string() + " is not an IP address");
  return tcp_listener(detail::listen_on(addr, opts));
}

task<unix_stream> unix_stream::connect(socket_address addr) {
  co_return unix_stream(co_await connect_to(addr, AF_UNIX));
}

std::pair<unix_stream, unix_stream> unix_stream::pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {unix_stream(detail::fd(sv[0])), unix_stream(detail::fd(sv[1]))};
}

unix_listener unix_listener::bind(const socket_address& addr, const detail::listen_options& opts) {
  if (!addr.is_unix())
    throw std::invalid_argument("corio::net::unix_listener::bind: " + addr.to_string() + " is not a Unix address");
  return unix_listener(detail::listen_on(addr, opts));
}

udp_socket udp_socket::bind(const socket_address& addr) {
  if (!addr.is_ipv4() && !addr.is_ipv6())
    throw std::invalid_argument("corio::net::udp_socket::bind: " + addr.to_string() + " is not an IP address");
  return udp_socket(bound(addr, "socket"));
}

unix_datagram unix_datagram::bind(const socket_address& addr) {
  if (!addr.is_unix())
    throw std::invalid_argument("corio::net::unix_datagram::bind: " + addr.to_string() + " is not a Unix address");
  return unix_datagram(bound(addr, "socket"));
}

unix_datagram unix_datagram::unbound() { return unix_datagram(detail::open_socket(AF_UNIX, SOCK_DGRAM, "socket")); }

std::pair<unix_datagram, unix_datagram> unix_datagram::pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {unix_datagram(detail::fd(sv[0])), unix_datagram(detail::fd(sv[1]))};
}

}  // namespace corio::net
