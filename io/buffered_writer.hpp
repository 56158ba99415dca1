#pragma once
// corio::buffered_writer — gathers small writes into a buffer and writes it out in one piece.
//
//   buffered_writer w(stream);                     // borrows stream; w(std::move(s)) owns it
//   for (auto& row : rows) co_await w.write(row);  // usually a memcpy, no system call
//   co_await w.flush();                            // REQUIRED: see below
//
// Stream is anything with `write_all(const void*, size_t)` awaitable: net::tcp_stream,
// unix_stream, write_half, fs::file, fs::pipe_writer, stdout_stream(), another buffered_writer.
// As with buffered_reader, an lvalue argument is borrowed and an rvalue is moved in.
//
// write() copies into the buffer while it fits; when it does not, the buffer is written out
// (write_all) first, and data at least as large as the buffer goes to the stream directly. So
// the stream sees the bytes in order, in writes of at least capacity() bytes except the last.
//
// Unflushed data is lost if the writer is destroyed: a destructor cannot await, and a
// synchronous write would block a worker. Always `co_await flush()` before dropping the
// writer (and before expecting the peer to have the data). flush() also flushes the stream if
// it has a flush() of its own (a buffered_writer over a buffered_writer).
//
// Errors: if writing the buffer out fails, the exception propagates and the buffered bytes are
// dropped (how many of them reached the stream is unknown); the writer stays usable. One task
// at a time writes through a given writer, which must not move while a call runs.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../runtime/task.hpp"

namespace corio {

/// A stream with write_all(const void*, size_t), awaitable.
template <class S>
concept async_writable = requires(S& s, const void* p, std::size_t n) {
  { s.write_all(p, n) };
};

/// Gathers writes into a buffer (see above). One task at a time; must not move while a call
/// runs; `co_await flush()` before dropping it or unflushed bytes are lost.
template <class Stream>
  requires async_writable<std::remove_reference_t<Stream>>
class buffered_writer {
 public:
  /// Buffer size when none is given.
  static constexpr std::size_t default_capacity = 8192;

  /// A writer over `s` with a buffer of `capacity` bytes (std::invalid_argument if 0).
  explicit buffered_writer(Stream s, std::size_t capacity = default_capacity)
      : inner_(std::forward<Stream>(s)), cap_(capacity) {
    if (cap_ == 0) throw std::invalid_argument("corio::buffered_writer: capacity must be at least 1");
    buf_ = std::make_unique_for_overwrite<char[]>(cap_);
  }
  /// Takes over the other object's state; that one is left empty (destroy or assign it only).
  buffered_writer(buffered_writer&&) noexcept = default;

  /// The stream underneath. Writing to it directly goes ahead of what is buffered here.
  std::remove_reference_t<Stream>& inner() noexcept { return inner_; }
  /// The buffer's size.
  std::size_t capacity() const noexcept { return cap_; }
  /// The bytes waiting for a flush.
  std::span<const char> buffered() const noexcept { return {buf_.get(), len_}; }

  /// Queues n bytes, writing the buffer out first if they do not fit (see above). Throws what
  /// the stream's write_all throws (the buffered bytes are then dropped).
  ///
  /// **Cancel safety:** not cancel-safe. When it returns at once (the bytes fit) there is no
  /// suspension point. Dropped while writing the buffer out, the buffered bytes are dropped
  /// (a prefix of unknown length reached the stream) and `data` was not queued.
  task<void> write(const void* data, std::size_t n) {
    if (n <= cap_ - len_) {
      copy_in(data, n);
      co_return;
    }
    co_await write_out();
    if (n >= cap_) {
      co_await inner_.write_all(data, n);
      co_return;
    }
    copy_in(data, n);
  }
  /// write() of `s`.
  task<void> write(std::string_view s) { return write(s.data(), s.size()); }
  /// write() of `buf`.
  task<void> write(std::span<const std::byte> buf) { return write(buf.data(), buf.size()); }
  /// Same as write (all bytes are always taken): lets a buffered_writer be the Stream of another.
  task<void> write_all(const void* data, std::size_t n) { return write(data, n); }
  /// write_all() of `s`.
  task<void> write_all(std::string_view s) { return write(s.data(), s.size()); }

  /// Writes the buffered bytes to the stream (then flushes the stream, if it can be flushed).
  /// Throws what the stream throws. Not cancel-safe: dropped part-way, the buffered bytes are
  /// dropped and a prefix of unknown length reached the stream.
  task<void> flush() {
    co_await write_out();
    if constexpr (requires { inner_.flush(); }) co_await inner_.flush();
  }

 private:
  void copy_in(const void* data, std::size_t n) noexcept {
    if (n == 0) return;
    std::memcpy(buf_.get() + len_, data, n);
    len_ += n;
  }
  task<void> write_out() {
    if (len_ == 0) co_return;
    std::size_t n = std::exchange(len_, 0);  // dropped, not retried, if the write fails
    co_await inner_.write_all(buf_.get(), n);
  }

  Stream inner_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_;
  std::size_t len_ = 0;
};

template <class S>
buffered_writer(S&&) -> buffered_writer<S>;
template <class S>
buffered_writer(S&&, std::size_t) -> buffered_writer<S>;

}  // namespace corio
