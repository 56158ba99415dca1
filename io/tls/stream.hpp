#pragma once
// corio::tls::stream<S> — TLS over any corio byte stream (net::tcp_stream, net::unix_stream, ...).
//
//   auto ctx = tls::context::client();
//   auto s = co_await tls::connect(ctx, co_await net::tcp_stream::connect(addr), "example.com");
//   co_await s.write_all("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
//   std::size_t n = co_await s.read(buf, sizeof buf);     // 0: the peer closed cleanly
//   co_await s.shutdown();                                 // close_notify
//
// S needs `read(void*, size_t)` and `write(const void*, size_t)` awaitable for a byte count
// (read: 0 at the end of the stream); `shutdown()` is used when S has it. The stream owns S.
// OpenSSL itself stays in io/tls.cpp: this header moves ciphertext between S and the session's
// memory buffers (detail/session.hpp) and every OpenSSL call happens in there.
//
// Threads: the task that awaits an operation resumes on whichever worker picks it up (as with
// sockets). One task at a time per stream; split() gives a read half and a write half that two
// tasks may use at once (the halves share the session under a lock held only during OpenSSL
// calls, and take turns writing ciphertext to S: see io/tls.cpp).
//
// Cancel safety (aborting the task, or losing a timeout/select, at a suspension point):
//   read        safe while it waits for ciphertext: no plaintext has been taken yet and the
//               partial record stays buffered in the session; the stream remains usable. (A
//               socket read the kernel completes in the same instant it is cancelled leaves
//               its bytes to the socket's next read, so no ciphertext is lost: net::
//               read_operation.) If the read was sending protocol output of its own (a key-
//               update reply, the end of a handshake) when dropped, the stream becomes unusable.
//   write, write_all, read_exact, shutdown, connect/accept (the handshake)
//               not safe: dropped part-way they leave the stream unusable — every later call
//               throws errc::stream_unusable — because an unknown part of a record went out
//               (read_exact: the bytes it took are lost). A failed operation does the same.
// Nothing leaks either way: the SSL object and S are freed with the stream.
//
// Errors: std::system_error, with tls::error_category() for TLS failures (see error.hpp: a
// peer gone without close_notify is errc::unexpected_eof; a clean close makes read return 0)
// and the system category for failures of S underneath (ECONNRESET ...).

#include <concepts>
#include <exception>
#include <system_error>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "../../runtime/detail/await_traits.hpp"
#include "../../runtime/task.hpp"
#include "../io_error.hpp"
#include "context.hpp"
#include "detail/session.hpp"

namespace corio::tls {

/// What tls::stream needs of the stream underneath.
template <class S>
concept byte_stream = std::movable<S> && requires(S& s, void* p, const void* q, std::size_t n) {
  requires std::convertible_to<corio::detail::await_result_t<decltype(s.read(p, n))>, std::size_t>;
  requires std::convertible_to<corio::detail::await_result_t<decltype(s.write(q, n))>, std::size_t>;
};

namespace detail {

/// S and its session, at a fixed address (the halves of a split share it).
template <class S>
struct connection {
  connection(S&& s, const context& ctx, role side, std::string_view host)
      : stream(std::move(s)), tls(ctx, side, host) {}
  S stream;
  session tls;
  std::string out;  ///< ciphertext the flushing right's holder is writing (reused between flushes)
};

/// Marks the session unusable if dropped (cancelled, or unwound by an exception) before done().
class poison_guard {
 public:
  poison_guard(session& s, const char* why) noexcept : s_(&s), why_(why) {}
  poison_guard(const poison_guard&) = delete;
  poison_guard& operator=(const poison_guard&) = delete;
  ~poison_guard() {
    if (s_) s_->poison(why_);
  }
  void done() noexcept { s_ = nullptr; }

 private:
  session* s_;
  const char* why_;
};

/// The flushing right (session::begin_flush), given back on every exit.
class flush_right {
 public:
  explicit flush_right(session& s) noexcept : s_(&s) {}
  flush_right(const flush_right&) = delete;
  flush_right& operator=(const flush_right&) = delete;
  ~flush_right() {
    if (s_) {  // dropped mid-write: part of a record may be out
      s_->poison("a write of TLS records to the stream underneath was cancelled or failed part-way");
      s_->abandon_flush();
    }
  }
  /// take_output gave the right back already.
  void released() noexcept { s_ = nullptr; }

 private:
  session* s_;
};

/// Writes all of [p, p+n) to S.
template <class S>
task<void> write_raw(S& s, const char* p, std::size_t n) {
  while (n > 0) {
    std::size_t k = co_await s.write(p, n);
    p += k;
    n -= k;
  }
}

/// Sends the session's pending output. `wait`: if another task is flushing, wait for it to
/// finish (it sends this task's output too); otherwise leave the output to it.
template <class S>
task<void> flush(connection<S>& c, bool wait) {
  for (;;) {
    auto released = c.tls.flush_released().notified();
    auto start = c.tls.begin_flush(c.out);
    if (start == session::flush_start::idle) co_return;  // nothing pending (or sent by a holder)
    if (start == session::flush_start::took) break;
    if (!wait) co_return;
    co_await std::move(released);
    c.tls.check_usable("write");
  }
  flush_right right(c.tls);
  for (;;) {
    co_await write_raw(c.stream, c.out.data(), c.out.size());
    bool more = c.tls.take_output(c.out);
    if (!more) break;
  }
  right.released();
}

/// Reads ciphertext from S into the session. False at the end of S.
template <class S>
task<bool> pull(connection<S>& c) {
  std::size_t k = 0;
  try {
    k = co_await c.stream.read(c.tls.input_buffer(), session::input_capacity);
  } catch (...) {
    c.tls.poison("a read from the stream underneath failed");
    throw;
  }
  if (k == 0) {
    c.tls.feed_eof();
    co_return false;
  }
  c.tls.feed(c.tls.input_buffer(), k);
  co_return true;
}

template <class S>
task<void> handshake(connection<S>& c) {
  poison_guard guard(c.tls, "the handshake was cancelled or failed");
  for (;;) {
    auto st = session::status::done;
    std::exception_ptr failed;
    try {
      st = c.tls.handshake();
    } catch (const std::system_error&) {
      failed = std::current_exception();
    }
    if (failed) {  // send the alert OpenSSL queued (best effort), so the peer learns why
      bool alert = c.tls.has_output();
      if (alert) {
        try {
          co_await flush(c, true);
        } catch (const std::exception&) {
        }
      }
      std::rethrow_exception(failed);
    }
    bool out = c.tls.has_output();
    if (out) co_await flush(c, true);
    if (st == session::status::done) break;
    co_await pull(c);
  }
  guard.done();
}

template <class S>
task<std::size_t> read(connection<S>* c, void* data, std::size_t n) {
  if (!c) throw std::system_error(errc::stream_unusable, "tls read: the stream was moved from");
  if (n == 0) {
    c->tls.check_usable("read");
    co_return 0;
  }
  for (;;) {
    auto r = c->tls.read(data, n);  // throws errc::stream_unusable if poisoned
    if (r.st == session::status::done) co_return r.n;
    if (r.output) {  // protocol output of the read itself (key update reply, ...)
      poison_guard guard(c->tls, "a read was cancelled while it sent protocol output");
      co_await flush(*c, false);
      guard.done();
    }
    co_await pull(*c);
  }
}

template <class S>
task<std::size_t> write(connection<S>* c, const void* data, std::size_t n) {
  if (!c) throw std::system_error(errc::stream_unusable, "tls write: the stream was moved from");
  if (n == 0) {
    c->tls.check_usable("write");
    co_return 0;
  }
  std::size_t k = c->tls.write(data, n);  // throws errc::stream_unusable if poisoned
  poison_guard guard(c->tls, "a write was cancelled or failed part-way");
  co_await flush(*c, true);
  guard.done();
  co_return k;
}

template <class S>
task<void> write_all(connection<S>* c, const void* data, std::size_t n) {
  auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  std::optional<poison_guard> guard;  // dropped between two writes: the caller can't know how much went
  if (c) guard.emplace(c->tls, "a write_all was cancelled or failed part-way");
  while (done < n) {
    std::size_t k = co_await write(c, p + done, n - done);
    done += k;
  }
  if (guard) guard->done();
}

template <class S>
task<void> read_exact(connection<S>* c, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  std::optional<poison_guard> guard;  // dropped part-way: the bytes it took are gone
  if (c) guard.emplace(c->tls, "a read_exact was cancelled or failed part-way");
  while (got < n) {
    std::size_t k = co_await read(c, p + got, n - got);
    if (k == 0) throw corio::unexpected_eof("tls read_exact: the peer closed the stream", got, n);
    got += k;
  }
  if (guard) guard->done();
}

template <class S>
task<void> shutdown(connection<S>* c) {
  if (!c) throw std::system_error(errc::stream_unusable, "tls shutdown: the stream was moved from");
  c->tls.check_usable("shutdown");
  poison_guard guard(c->tls, "a shutdown was cancelled or failed part-way");
  c->tls.shutdown();
  co_await flush(*c, true);
  if constexpr (requires { c->stream.shutdown(); }) co_await c->stream.shutdown();
  guard.done();
}

/// The operations every TLS stream type (stream, read half, write half) forwards.
#define CORIO_TLS_READ_OPS                                                                         \
  [[nodiscard]] task<std::size_t> read(void* data, std::size_t n) { return detail::read(conn(), data, n); }      \
  [[nodiscard]] task<std::size_t> read(std::span<char> b) { return read(b.data(), b.size()); }                   \
  [[nodiscard]] task<std::size_t> read(std::span<std::byte> b) { return read(b.data(), b.size()); }              \
  [[nodiscard]] task<void> read_exact(void* data, std::size_t n) { return detail::read_exact(conn(), data, n); } \
  [[nodiscard]] task<void> read_exact(std::span<char> b) { return read_exact(b.data(), b.size()); }              \
  [[nodiscard]] task<void> read_exact(std::span<std::byte> b) { return read_exact(b.data(), b.size()); }
#define CORIO_TLS_WRITE_OPS                                                                                          \
  [[nodiscard]] task<std::size_t> write(const void* data, std::size_t n) { return detail::write(conn(), data, n); } \
  [[nodiscard]] task<std::size_t> write(std::string_view s) { return write(s.data(), s.size()); }                   \
  [[nodiscard]] task<std::size_t> write(std::span<const std::byte> b) { return write(b.data(), b.size()); }         \
  [[nodiscard]] task<void> write_all(const void* data, std::size_t n) { return detail::write_all(conn(), data, n); } \
  [[nodiscard]] task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }                  \
  [[nodiscard]] task<void> write_all(std::span<const std::byte> b) { return write_all(b.data(), b.size()); }        \
  [[nodiscard]] task<void> shutdown() { return detail::shutdown(conn()); }

}  // namespace detail

template <byte_stream S>
class read_half;
template <byte_stream S>
class write_half;

/// A TLS connection over S, after its handshake (made by tls::connect / tls::accept).
/// Move-only; dropping it frees the session and S (without close_notify: call shutdown()
/// first for a clean close). One task at a time; see split().
///
///   read(data, n)        up to n plaintext bytes (waits for at least one); 0 once the peer has
///                        sent close_notify. Cancel-safe while waiting (see above).
///   read_exact(data, n)  exactly n bytes; corio::unexpected_eof if the peer closes cleanly
///                        first. Not cancel-safe.
///   write(data, n)       encrypts and sends up to 64 KiB of the n bytes; returns the count,
///                        once those bytes are handed to S. Not cancel-safe.
///   write_all(data, n)   all n bytes. Not cancel-safe.
///   shutdown()           sends close_notify, then shuts down S's write direction if S can.
///                        Reading stays possible (the peer's data up to its close_notify).
/// All throw std::system_error (tls category for TLS failures, errc::stream_unusable once an
/// earlier operation was cancelled or failed part-way; system category for S's errors).
template <byte_stream S>
class stream {
 public:
  /// A stream that is not connected (every operation throws errc::stream_unusable).
  stream() noexcept = default;
  explicit stream(std::unique_ptr<detail::connection<S>> c) noexcept : c_(std::move(c)) {}
  stream(stream&&) noexcept = default;
  stream& operator=(stream&&) noexcept = default;

  CORIO_TLS_READ_OPS
  CORIO_TLS_WRITE_OPS

  /// The ALPN protocol agreed on in the handshake ("" if none).
  std::string alpn_protocol() const { return c_ ? c_->tls.alpn() : std::string(); }
  /// The peer certificate's subject, RFC 2253 ("CN=localhost,O=..."); "" if it sent none.
  std::string peer_subject() const { return c_ ? c_->tls.peer_subject() : std::string(); }
  /// The protocol version in use ("TLSv1.3", "TLSv1.2").
  std::string protocol_version() const { return c_ ? c_->tls.protocol_version() : std::string(); }
  /// Whether the handshake resumed an earlier session (a ticket was accepted).
  bool session_reused() const { return c_ && c_->tls.session_reused(); }
  /// The stream underneath (reading or writing it directly desynchronises TLS). Must not be
  /// called on a moved-from stream.
  S& inner() noexcept { return c_->stream; }

  /// Splits into a read half and a write half that two tasks may use at once (TLS 1.3
  /// post-handshake messages and key updates are handled by whichever half meets them). This
  /// stream is left empty. S is freed when both halves are gone.
  std::pair<read_half<S>, write_half<S>> split() && {
    std::shared_ptr<detail::connection<S>> shared(std::move(c_));
    return {read_half<S>(shared), write_half<S>(shared)};
  }

 private:
  detail::connection<S>* conn() const noexcept { return c_.get(); }
  std::unique_ptr<detail::connection<S>> c_;
};

/// The reading half of a split tls::stream (read, read_exact; cancel safety as for stream).
template <byte_stream S>
class read_half {
 public:
  explicit read_half(std::shared_ptr<detail::connection<S>> c) noexcept : c_(std::move(c)) {}
  CORIO_TLS_READ_OPS

 private:
  detail::connection<S>* conn() const noexcept { return c_.get(); }
  std::shared_ptr<detail::connection<S>> c_;
};

/// The writing half of a split tls::stream (write, write_all, shutdown).
template <byte_stream S>
class write_half {
 public:
  explicit write_half(std::shared_ptr<detail::connection<S>> c) noexcept : c_(std::move(c)) {}
  CORIO_TLS_WRITE_OPS

 private:
  detail::connection<S>* conn() const noexcept { return c_.get(); }
  std::shared_ptr<detail::connection<S>> c_;
};

#undef CORIO_TLS_READ_OPS
#undef CORIO_TLS_WRITE_OPS

/// Connects as a client over `s` (already connected): the handshake, verifying the server's
/// certificate for `host` (also sent as SNI; an IP address literal is checked against the
/// certificate's IP entries and not sent). `ctx` must be a client context. Throws
/// std::system_error (errc::certificate_verify_failed, handshake_failed, unexpected_eof, or
/// S's errors). Not cancel-safe: dropped mid-handshake, S is closed with it.
template <byte_stream S>
[[nodiscard]] task<stream<S>> connect(const context& ctx, S s, std::string host) {
  auto c = std::make_unique<detail::connection<S>>(std::move(s), ctx, role::client, host);
  co_await detail::handshake(*c);
  co_return stream<S>(std::move(c));
}

/// Accepts a client over `s` (e.g. from tcp_listener::accept): the server side of the handshake.
/// `ctx` must be a server context with a certificate and key. Errors and cancellation as for
/// connect (a plaintext client is errc::handshake_failed).
template <byte_stream S>
[[nodiscard]] task<stream<S>> accept(const context& ctx, S s) {
  auto c = std::make_unique<detail::connection<S>>(std::move(s), ctx, role::server, std::string_view());
  co_await detail::handshake(*c);
  co_return stream<S>(std::move(c));
}

}  // namespace corio::tls
