// Error reporting and the looping stream operations (detail/io_call.hpp, detail/stream_ops.hpp).

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include "../io_error.hpp"
#include "../socket_address.hpp"
#include "fd.hpp"
#include "io_call.hpp"
#include "read_stash.hpp"
#include "stream_ops.hpp"

namespace corio::detail {

namespace {
constexpr int eof_mark = 1;

std::string addresses_of(int fd) {
  net::socket_address local, peer;
  if (::getsockname(fd, local.data(), local.size_ptr()) < 0) return {};
  std::string s = local.to_string();
  if (::getpeername(fd, peer.data(), peer.size_ptr()) == 0) s += " -> " + peer.to_string();
  return s;
}
}  // namespace

void throw_io_error(int err, const char* what, int fd) {
  std::string where = fd >= 0 ? addresses_of(fd) : std::string();
  std::string msg = where.empty() ? fmt::format("{} (fd {})", what, fd) : fmt::format("{} ({})", what, where);
  throw std::system_error(err, std::generic_category(), msg);
}

int check(int rc, const char* what) {
  if (rc < 0) throw std::system_error(errno, std::generic_category(), what);
  return rc;
}

int read_stash::take(void* data, std::size_t n) noexcept {
  if (off_ < size_) {
    std::size_t k = std::min(n, size_ - off_);
    std::memcpy(data, bytes_.get() + off_, k);
    off_ += k;
    if (off_ == size_) {
      bytes_.reset();
      off_ = size_ = 0;
    }
    return static_cast<int>(k);  // at most one read's count, so it fits
  }
  int e = end_;
  if (e < 0) end_ = 0;  // an error is reported once; the end of the stream stays
  return e == eof_mark ? 0 : e;
}

void read_stash::keep(int res, const void* buf) noexcept {
  if (res == -ECANCELED) return;
  if (res <= 0) {
    if (end_ == 0) end_ = res == 0 ? eof_mark : res;
    return;
  }
  const auto k = static_cast<std::size_t>(res);
  std::unique_ptr<unsigned char[]> grown(new (std::nothrow) unsigned char[size_ - off_ + k]);
  if (!grown) {
    end_ = -ENOBUFS;  // the bytes are gone: say so at the next read
    return;
  }
  if (size_ > off_) std::memcpy(grown.get(), bytes_.get() + off_, size_ - off_);
  std::memcpy(grown.get() + (size_ - off_), buf, k);
  size_ = size_ - off_ + k;
  off_ = 0;
  bytes_ = std::move(grown);
}

task<void> read_exact(int fd, void* data, std::size_t n, bool socket, read_stash* stash) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = co_await read_some(fd, p + got, n - got, socket, stash);
    if (k == 0)
      throw unexpected_eof(fmt::format("read_exact: the stream ended after {} of {} bytes", got, n), got, n);
    got += k;
  }
}

task<void> write_all(int fd, const void* data, std::size_t n, bool socket) {
  auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < n) {
    std::size_t k = co_await write_some(fd, p + done, n - done, socket);
    if (k == 0) throw_io_error(EIO, "write_all: the descriptor accepted no bytes", fd);
    done += k;
  }
}

}  // namespace corio::detail
