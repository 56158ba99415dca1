#pragma once
// corio::tls errors: std::system_error with tls::error_category().
//
// Every failure of the TLS layer itself (a handshake the peer or the verifier rejects, a record
// that does not decrypt, a peer that vanishes without close_notify, a stream left unusable by an
// earlier cancelled or failed operation, a certificate file that does not load) is thrown as
//
//   std::system_error(tls::errc::..., "tls <operation>: <OpenSSL's reason>[: <verify detail>]")
//
// e.g. "tls handshake: certificate verify failed: hostname mismatch". Compare the code, not the
// text: `e.code() == tls::errc::certificate_verify_failed`. Errors of the stream underneath
// (ECONNRESET, EPIPE ...) come through unchanged as std::system_error with the system category.

#include <string>
#include <system_error>

#include "../../runtime/detail/export.hpp"

namespace corio::tls {

/// The error codes of tls::error_category(). None is 0.
enum class errc {
  /// The handshake failed: no common protocol version or cipher, an alert from the peer, a peer
  /// that does not speak TLS (e.g. a plaintext client), ...
  handshake_failed = 1,
  /// The peer's certificate was rejected: untrusted issuer, expired, wrong host name ... (the
  /// message carries OpenSSL's verify detail).
  certificate_verify_failed,
  /// A record after the handshake was malformed or did not authenticate (bad record MAC ...).
  protocol_error,
  /// The peer closed the connection without close_notify (a truncation attack or a crash look
  /// the same). A clean close (close_notify) is not an error: read returns 0.
  unexpected_eof,
  /// An earlier operation on this stream was cancelled or failed part-way (mid-record): the
  /// stream refuses every further operation instead of continuing out of step with the peer.
  stream_unusable,
  /// The context could not be set up: a certificate, key or CA file that does not load, a key
  /// that does not match the certificate, an ALPN list that is not valid ...
  configuration,
};

/// The category of corio::tls errors (name "tls").
CORIO_API const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace corio::tls

template <>
struct std::is_error_code_enum<corio::tls::errc> : std::true_type {};
