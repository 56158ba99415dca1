#pragma once
// An io_awaitable whose result is checked and converted: a negative result becomes a
// std::system_error whose message names the operation and the socket's addresses; otherwise
// `Convert` turns the count or descriptor into what the caller gets.

#include <cstddef>
#include <cstdint>
#include <utility>

#include "../../runtime/detail/export.hpp"
#include "io_awaitable.hpp"

namespace corio::detail {

/// Throws std::system_error(err) with "<what> (<local> -> <peer>): <strerror>" (addresses when
/// `fd` is a socket).
CORIO_API [[noreturn]] void throw_io_error(int err, const char* what, int fd);

struct to_size {
  std::size_t operator()(int r) const noexcept { return static_cast<std::size_t>(r); }
};
struct to_void {
  void operator()(int) const noexcept {}
};

template <class Convert>
class [[nodiscard]] io_call {
 public:
  /// corio::select and corio::timeout may drive it in place, without a frame of its own: it
  /// wakes its task only through its waker (detail/branch_slot.hpp).
  using corio_direct_branch = void;

  io_call(const io_request& r, const char* what, Convert conv = {}) noexcept : op_(r, what), what_(what), fd_(r.fd), conv_(std::move(conv)) {}

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) { return op_.await_suspend(h); }
  decltype(auto) await_resume() {
    int r = op_.await_resume();
    if (r < 0) throw_io_error(-r, what_, fd_);
    return conv_(r);
  }

 private:
  io_awaitable op_;
  const char* what_;
  int fd_;
  Convert conv_;
};

/// The request builders shared by every stream-like type (sockets, pipes).
inline io_request recv_request(int fd, void* data, std::size_t n) {
  io_request r;
  r.kind = io_kind::recv;
  r.fd = fd;
  r.buf = data;
  r.len = n;
  return r;
}
inline io_request send_request(int fd, const void* data, std::size_t n) {
  io_request r;
  r.kind = io_kind::send;
  r.fd = fd;
  r.buf = const_cast<void*>(data);
  r.len = n;
  return r;
}
inline io_request rw_request(io_kind kind, int fd, const void* data, std::size_t n, std::int64_t offset) {
  io_request r;
  r.kind = kind;
  r.fd = fd;
  r.buf = const_cast<void*>(data);
  r.len = n;
  r.offset = offset;
  return r;
}

}  // namespace corio::detail
