// Error reporting of the descriptor operations (detail/fd_op.hpp) and of the buffered reader;
// read_exact of the descriptor streams (detail/stream_ops.hpp).

#include "fd_op.hpp"

#include "../buffered_reader.hpp"
#include "../io_error.hpp"
#include "stream_ops.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace corio::detail {

void throw_fd_error(int err, const char* what, std::string_view name, int fd) {
  std::string msg = name.empty() ? fmt::format("{} (fd {})", what, fd) : fmt::format("{} {}", what, name);
  throw std::system_error(err, std::generic_category(), msg);
}

namespace {
/// The loop of read_exact and fd_read_exact: `read(p, k)` makes one read of at most k bytes
/// into p, awaited until n bytes are in; corio::unexpected_eof, named by `what()`, if the
/// stream ends first.
template <class Read, class What>
task<void> read_exact_loop(Read read, What what, char* p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = co_await read(p + got, n - got);
    if (k == 0) throw_unexpected_eof(what().c_str(), got, n);
    got += k;
  }
}
}  // namespace

task<void> read_exact(int fd, void* data, std::size_t n, bool socket, read_stash* stash) {
  auto read = [=](char* p, std::size_t k) { return read_some(fd, p, k, socket, stash); };
  auto what = [] { return std::string("read_exact"); };
  return read_exact_loop(read, what, static_cast<char*>(data), n);
}

task<void> fd_read_exact(int fd, std::string_view name, void* data, std::size_t n, read_stash* stash) {
  auto read = [=](char* p, std::size_t k) { return fd_read(fd, name, p, k, stash); };
  auto what = [=] { return name.empty() ? fmt::format("read_exact (fd {})", fd) : fmt::format("read_exact {}", name); };
  return read_exact_loop(read, what, static_cast<char*>(data), n);
}

task<void> fd_write_all(int fd, std::string_view name, const void* data, std::size_t n) {
  auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < n) {
    std::size_t k = co_await fd_op<to_size>(fd_request(io_kind::write, fd, p + done, n - done, -1), "write", name);
    if (k == 0) throw_fd_error(EIO, "write_all: no bytes accepted by", name, fd);
    done += k;
  }
}

void throw_unexpected_eof(const char* what, std::size_t got, std::size_t wanted) {
  throw unexpected_eof(fmt::format("{}: the stream ended after {} of {} bytes", what, got, wanted), got, wanted);
}

void throw_line_too_long(std::size_t limit) {
  throw line_too_long(fmt::format("buffered_reader: line longer than {} bytes", limit), limit);
}

}  // namespace corio::detail
