// Error reporting, the read stash and the looping stream operations (detail/io_call.hpp,
// detail/read_stash.hpp, detail/stream_ops.hpp).

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>
#include <utility>

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

// Only stdin's stash is shared (every stdin_stream() copy reads it), so one lock serves all
// shared stashes; it is held for a copy of at most one read's bytes. Constant-initialized: no
// allocation (a keep may run under an allocation failure) and no initialization order.
namespace {
constinit std::mutex shared_stash_mutex;
std::mutex& shared_stash_lock() noexcept { return shared_stash_mutex; }
}  // namespace

read_stash::read_stash(read_stash&& o) noexcept
    : bytes_(std::move(o.bytes_)),
      size_(std::exchange(o.size_, 0)),
      off_(std::exchange(o.off_, 0)),
      end_(std::exchange(o.end_, 0)),
      shared_(o.shared_) {}

read_stash& read_stash::operator=(read_stash&& o) noexcept {
  bytes_ = std::move(o.bytes_);
  size_ = std::exchange(o.size_, 0);
  off_ = std::exchange(o.off_, 0);
  end_ = std::exchange(o.end_, 0);
  return *this;
}

bool read_stash::locked_empty() const noexcept {
  std::lock_guard lock(shared_stash_lock());
  return off_ == size_ && end_ == 0;
}

bool read_stash::take_slow(void* data, std::size_t n, int& res) noexcept {
  if (!shared_) return take_unlocked(data, n, res);
  std::lock_guard lock(shared_stash_lock());
  return take_unlocked(data, n, res);
}

bool read_stash::take_unlocked(void* data, std::size_t n, int& res) noexcept {
  if (off_ < size_) {
    std::size_t k = std::min(n, size_ - off_);
    std::memcpy(data, bytes_.get() + off_, k);
    off_ += k;
    if (off_ == size_) {
      bytes_.reset();
      off_ = size_ = 0;
    }
    res = static_cast<int>(k);  // at most one read's count, so it fits
    return true;
  }
  if (end_ == 0) return false;
  // Reported once, the end as well as an error: where the end is for good (a socket, a pipe)
  // the kernel says so again; a terminal's (Ctrl-D on stdin) is not, so it must not stick.
  res = end_ == eof_mark ? 0 : end_;
  end_ = 0;
  return true;
}

void read_stash::keep(int res, const void* buf) noexcept {
  if (res == -ECANCELED) return;
  if (!shared_) return keep_unlocked(res, buf);
  std::lock_guard lock(shared_stash_lock());
  keep_unlocked(res, buf);
}

void read_stash::keep_unlocked(int res, const void* buf) noexcept {
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
