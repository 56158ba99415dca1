// Whole-file helpers (whole_file.hpp): open, loop, close.
//
// Reads size the buffer from statx (plus one byte, so the read that meets the end needs no
// growth) and then grow by doubling, because the size may be stale (a growing log) or zero
// (files under /proc and /sys).

#include "whole_file.hpp"

#include <algorithm>

#include "file.hpp"

namespace corio::fs {

namespace {

template <class Buffer>
task<Buffer> read_all(std::string path) {
  file f = co_await file::open(std::move(path));
  file_metadata m = co_await f.metadata();
  Buffer out;
  out.resize(static_cast<std::size_t>(std::max<std::uint64_t>(m.size + 1, 512)));
  std::size_t len = 0;
  for (;;) {
    if (len == out.size()) out.resize(out.size() * 2);
    std::size_t k = co_await f.read(out.data() + len, out.size() - len);
    if (k == 0) break;
    len += k;
  }
  out.resize(len);
  co_return out;
}

task<void> write_all_of(std::string path, const void* data, std::size_t n) {
  file f = co_await file::create(std::move(path));
  co_await f.write_all(data, n);
  co_await f.close();
}

}  // namespace

task<std::string> read_to_string(std::string path) { return read_all<std::string>(std::move(path)); }

task<std::vector<std::byte>> read_bytes(std::string path) { return read_all<std::vector<std::byte>>(std::move(path)); }

task<void> write(std::string path, std::string_view data) { return write_all_of(std::move(path), data.data(), data.size()); }

task<void> write(std::string path, std::span<const std::byte> data) {
  return write_all_of(std::move(path), data.data(), data.size());
}

}  // namespace corio::fs
