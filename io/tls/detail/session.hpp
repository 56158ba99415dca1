#pragma once
// corio::tls::detail::session — one TLS connection's state machine, without any I/O.
//
// The SSL object reads ciphertext from an input memory BIO and writes ciphertext to an output
// memory BIO; the templates in ../stream.hpp move bytes between those and the stream underneath
// with its own async read/write. Everything here is non-blocking, takes the session's small
// lock for the length of one OpenSSL call and never across a suspension, and leaves OpenSSL's
// per-thread error queue empty when it returns (see the notes at the top of io/tls.cpp).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "../../../runtime/detail/export.hpp"
#include "../../../sync/notify.hpp"
#include "../context.hpp"

namespace corio::tls::detail {

struct session_impl;

class CORIO_API session {
 public:
  /// A session for `ctx`, which must be for `side` (else errc::configuration); a client
  /// connects to `host` (checked, and sent as SNI, unless empty).
  session(const context& ctx, role side, std::string_view host);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Whether a call could make progress or needs more ciphertext from the peer.
  enum class status { done, want_read };
  struct read_result {
    status st;
    std::size_t n;        ///< bytes read when done (0: the peer sent close_notify)
    bool output = false;  ///< the read queued protocol output to flush (a key update reply, ...)
  };

  /// One step of the handshake. Throws std::system_error(tls) when it fails.
  status handshake();
  /// Decrypts up to n bytes into `data`. Throws errc::stream_unusable if poisoned.
  read_result read(void* data, std::size_t n);
  /// Encrypts up to `max_write` of the n bytes into the output; returns how many were taken.
  /// Throws errc::stream_unusable if poisoned or shut down.
  std::size_t write(const void* data, std::size_t n);
  /// Queues close_notify (once).
  void shutdown();

  /// Ciphertext that arrived from the peer / the peer's end of stream.
  void feed(const void* data, std::size_t n);
  void feed_eof() noexcept;

  /// Flushing: one task at a time writes the output to the stream. begin_flush takes that
  /// right if it is free and output is pending, moving the output into `out` (took); finding
  /// no output it takes nothing (idle), finding the right taken it leaves the output to its
  /// holder (busy). take_output, for the holder, moves the output queued since into `out`
  /// (true) or, if there is none, gives the right back (false) — atomically, so output queued
  /// by another task while this one flushes is always sent by this one.
  enum class flush_start { took, idle, busy };
  flush_start begin_flush(std::string& out);
  bool take_output(std::string& out);
  /// Whether output is waiting to be flushed.
  bool has_output();
  /// Gives the flushing right back after a failure (the stream is unusable by then).
  void abandon_flush() noexcept;
  /// Notified (notify_all) each time the flushing right is given back.
  notify& flush_released() noexcept { return flush_released_; }

  /// Marks the stream unusable: every later call throws errc::stream_unusable quoting `why`.
  void poison(std::string_view why) noexcept;
  /// Throws errc::stream_unusable if poisoned ("tls <op>: ...").
  void check_usable(const char* op);

  /// A buffer for one read from the stream underneath (used by one reader at a time).
  char* input_buffer() noexcept { return in_buf_.get(); }
  static constexpr std::size_t input_capacity = 16 * 1024 + 512;
  /// The most one write() encrypts (bounds the buffered output).
  static constexpr std::size_t max_write = 64 * 1024;

  std::string alpn() const;
  std::string peer_subject() const;
  std::string protocol_version() const;
  bool session_reused() const;

 private:
  std::unique_ptr<session_impl> impl_;
  std::unique_ptr<char[]> in_buf_;
  notify flush_released_;
};

}  // namespace corio::tls::detail
