#pragma once
// corio::buffered_reader — reads a stream through a buffer, for lines and small reads.
//
//   net::tcp_stream s = co_await net::tcp_stream::connect(addr);
//   buffered_reader r(s);                          // borrows s (an lvalue); r(std::move(s)) owns it
//   std::string line;
//   while (co_await r.read_line(line) != 0) { handle(line); line.clear(); }
//
//   buffered_reader in(fs::stdin_stream());
//   auto lines = in.lines();                                    // or in.next_line() directly
//   while (auto l = co_await lines.next_line()) use(*l);        // without "\n" / "\r\n"
//
// Stream is anything whose `read(void*, size_t)` is awaitable for a size_t, 0 at the end of the
// stream: net::tcp_stream, unix_stream, read_half, fs::file, fs::pipe_reader, stdin_stream(),
// another buffered_reader. With class template argument deduction an lvalue argument is
// borrowed (Stream is a reference: the stream must outlive the reader) and an rvalue is moved
// in (the reader owns it; inner() reaches it).
//
// Each refill is one read of up to capacity() bytes; a read() asking for at least capacity()
// bytes with nothing buffered goes straight to the stream. Bytes are handed out in order and
// none is lost between calls, so the calls mix freely. Lines are bounded: a line (not counting
// its delimiter) longer than max_line_length() (default 1 MiB) throws corio::line_too_long
// after appending its first max_line_length() bytes, and the rest of the line stays unread
// (skip_until(delim) drops it), so a peer cannot make the reader grow without bound.
//
// Not for concurrent use: one task at a time reads through a given reader (the stream's other
// direction, or its write half, is free for another task). Each call is a task<...> that must be
// awaited before the next starts; the reader must not move while one runs. Aborting a task in
// the middle of a call leaves the reader with whatever it had consumed by then.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "../runtime/detail/await_traits.hpp"
#include "../runtime/detail/export.hpp"
#include "../runtime/task.hpp"
#include "io_error.hpp"

namespace corio {

/// A line (or read_until segment) exceeded the reader's max_line_length().
class CORIO_API line_too_long : public std::length_error {
 public:
  /// `what` is the message; `limit` the length that was exceeded.
  line_too_long(const std::string& what, std::size_t limit) : std::length_error(what), limit_(limit) {}
  /// The max_line_length() that was exceeded.
  std::size_t limit() const noexcept { return limit_; }

 private:
  std::size_t limit_;
};

// GCC 12 miscompiles some coroutines with a co_await inside an if condition (the awaited task
// never runs): results are taken into locals first.

namespace detail {
CORIO_API [[noreturn]] void throw_unexpected_eof(const char* what, std::size_t got, std::size_t wanted);
CORIO_API [[noreturn]] void throw_line_too_long(std::size_t limit);
}  // namespace detail

/// A stream whose read(void*, size_t) is awaitable for a count (0 at the end of the stream).
template <class S>
concept async_readable = requires(S& s, void* p, std::size_t n) {
  { s.read(p, n) };
  requires std::convertible_to<detail::await_result_t<decltype(s.read(p, n))>, std::size_t>;
};

template <class Stream>
class buffered_lines;

/// Reads a stream through a buffer (see above). One task at a time; must not move while a call
/// runs.
template <class Stream>
  requires async_readable<std::remove_reference_t<Stream>>
class buffered_reader {
 public:
  ///@{
  /// Buffer size when none is given, and the default longest line (1 MiB).
  static constexpr std::size_t default_capacity = 8192;
  static constexpr std::size_t default_max_line_length = std::size_t{1} << 20;
  ///@}

  /// A reader over `s` with a buffer of `capacity` bytes (std::invalid_argument if 0).
  explicit buffered_reader(Stream s, std::size_t capacity = default_capacity)
      : inner_(std::forward<Stream>(s)), cap_(capacity) {
    if (cap_ == 0) throw std::invalid_argument("corio::buffered_reader: capacity must be at least 1");
    buf_ = std::make_unique_for_overwrite<char[]>(cap_);
  }
  /// Takes over the other object's state; that one is left empty (destroy or assign it only).
  buffered_reader(buffered_reader&&) noexcept = default;

  /// The stream underneath. Reading from it directly skips what is buffered here.
  std::remove_reference_t<Stream>& inner() noexcept { return inner_; }
  /// The buffer's size: the most one refill reads.
  std::size_t capacity() const noexcept { return cap_; }
  /// The bytes read from the stream and not yet handed out.
  std::span<const char> buffered() const noexcept { return {buf_.get() + pos_, end_ - pos_}; }

  /// Longest line (or read_until segment) accepted, not counting the delimiter.
  std::size_t max_line_length() const noexcept { return max_line_; }
  /// Longest line (or read_until segment) accepted, not counting the delimiter;
  /// std::numeric_limits<std::size_t>::max() for no limit.
  void set_max_line_length(std::size_t n) noexcept { max_line_ = n; }

  /// Reads up to n bytes (buffered ones first, waiting for the stream only if none are): the
  /// count, 0 at the end of the stream. Throws what the stream's read throws.
  ///
  /// **Cancel safety:** as cancel-safe as the stream's read(): it suspends only in that read,
  /// before taking anything from the buffer, so a dropped read() consumes nothing (a socket,
  /// a pipe or stdin keeps what a dropped read took for its next read: read_operation).
  task<std::size_t> read(void* data, std::size_t n) {
    if (n == 0) co_return 0;
    if (pos_ == end_) {
      if (n >= cap_) {
        std::size_t direct = co_await inner_.read(data, n);
        co_return direct;
      }
      std::size_t filled = co_await refill();
      if (filled == 0) co_return 0;
    }
    co_return take(data, n);
  }
  /// read() into `buf`.
  task<std::size_t> read(std::span<char> buf) { return read(buf.data(), buf.size()); }
  /// read() into `buf`.
  task<std::size_t> read(std::span<std::byte> buf) { return read(buf.data(), buf.size()); }

  /// Reads exactly n bytes; corio::unexpected_eof (with the count that did arrive, which is in
  /// the buffer) if the stream ends first.
  ///
  /// **Cancel safety:** not cancel-safe: dropped part-way, the bytes taken so far are in the
  /// front of `data` (their count is not reported) and gone from the reader.
  task<void> read_exact(void* data, std::size_t n) {
    auto* p = static_cast<char*>(data);
    std::size_t got = 0;
    while (got < n) {
      std::size_t k = co_await read(p + got, n - got);
      if (k == 0) detail::throw_unexpected_eof("buffered_reader::read_exact", got, n);
      got += k;
    }
  }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<char> buf) { return read_exact(buf.data(), buf.size()); }
  /// read_exact() into `buf`.
  task<void> read_exact(std::span<std::byte> buf) { return read_exact(buf.data(), buf.size()); }

  /// Appends to `out` the bytes up to and including the next `delim`, or up to the end of the
  /// stream if it ends first. Returns the number of bytes appended: 0 only at the end of the
  /// stream. corio::line_too_long past max_line_length() (see above).
  ///
  /// **Cancel safety:** cancel-safe if the caller keeps `out`: it suspends only to refill the
  /// buffer, and the bytes it took before that are already appended to `out`. Dropped, call it
  /// again with the same `out` to continue the line. (A socket's read race applies to the
  /// refill, as for read().)
  task<std::size_t> read_until(char delim, std::string& out) {
    std::size_t appended = 0;
    for (;;) {
      if (pos_ == end_) {
        std::size_t filled = co_await refill();
        if (filled == 0) co_return appended;
      }
      const char* start = buf_.get() + pos_;
      std::size_t avail = end_ - pos_;
      const void* hit = std::memchr(start, static_cast<unsigned char>(delim), avail);
      std::size_t content = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - start) : avail;
      if (content > max_line_ - appended) {
        std::size_t room = max_line_ - appended;
        out.append(start, room);
        pos_ += room;
        detail::throw_line_too_long(max_line_);
      }
      std::size_t k = hit ? content + 1 : content;
      out.append(start, k);
      pos_ += k;
      appended += k;
      if (hit) co_return appended;
    }
  }

  /// read_until('\n', out): the line with its "\n" (a last line without one is returned as is).
  /// Cancel-safe as read_until: a partial line dropped part-way is already in `out`.
  task<std::size_t> read_line(std::string& out) { return read_until('\n', out); }

  /// The next line without its "\n" or "\r\n"; nullopt at the end of the stream.
  /// corio::line_too_long past max_line_length().
  ///
  /// **Cancel safety:** not cancel-safe: dropped part-way, the part of the line read so far is
  /// consumed from the reader and lost (use read_line with a string you keep instead).
  task<std::optional<std::string>> next_line() {
    std::string line;
    std::size_t n = co_await read_until('\n', line);
    if (n == 0) co_return std::nullopt;
    if (line.back() == '\n') {
      line.pop_back();
      if (!line.empty() && line.back() == '\r') line.pop_back();
    }
    co_return std::optional<std::string>(std::move(line));
  }

  /// A view that yields lines (next_line) from this reader, which it borrows.
  buffered_lines<Stream> lines() noexcept { return buffered_lines<Stream>(*this); }

  /// Drops the bytes up to and including the next `delim` (or to the end of the stream), in
  /// bounded memory: the way to skip the rest of a line after line_too_long. Returns the count.
  /// Dropped part-way, the bytes skipped so far stay skipped; calling it again continues.
  task<std::size_t> skip_until(char delim) {
    std::size_t skipped = 0;
    for (;;) {
      if (pos_ == end_) {
        std::size_t filled = co_await refill();
        if (filled == 0) co_return skipped;
      }
      const char* start = buf_.get() + pos_;
      std::size_t avail = end_ - pos_;
      const void* hit = std::memchr(start, static_cast<unsigned char>(delim), avail);
      std::size_t k = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - start) + 1 : avail;
      pos_ += k;
      skipped += k;
      if (hit) co_return skipped;
    }
  }

  /// The buffered bytes, reading from the stream first if there are none; empty at the end of
  /// the stream. Mark what you used with consume(). Cancel-safe as read().
  task<std::span<const char>> fill_buf() {
    if (pos_ == end_) co_await refill();
    co_return buffered();
  }
  /// Marks n buffered bytes as used (at most buffered().size()).
  void consume(std::size_t n) noexcept { pos_ += std::min(n, end_ - pos_); }

 private:
  task<std::size_t> refill() {
    pos_ = end_ = 0;
    std::size_t n = co_await inner_.read(buf_.get(), cap_);
    end_ = n;
    co_return n;
  }
  std::size_t take(void* data, std::size_t n) noexcept {
    std::size_t k = std::min(n, end_ - pos_);
    std::memcpy(data, buf_.get() + pos_, k);
    pos_ += k;
    return k;
  }

  Stream inner_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_;
  std::size_t pos_ = 0, end_ = 0;
  std::size_t max_line_ = default_max_line_length;
};

template <class S>
buffered_reader(S&&) -> buffered_reader<S>;
template <class S>
buffered_reader(S&&, std::size_t) -> buffered_reader<S>;

/// Lines of a buffered_reader (see buffered_reader::lines); borrows the reader.
template <class Stream>
class buffered_lines {
 public:
  /// Lines of `r`, which must outlive this object.
  explicit buffered_lines(buffered_reader<Stream>& r) noexcept : r_(&r) {}
  /// The next line without its "\n" or "\r\n"; nullopt at the end of the stream.
  task<std::optional<std::string>> next_line() { return r_->next_line(); }

 private:
  buffered_reader<Stream>* r_;
};

}  // namespace corio
