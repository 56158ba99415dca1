#pragma once
// corio::tls::context — the settings shared by many TLS connections (OpenSSL's SSL_CTX).
//
//   auto server = tls::context::server();
//   server.use_certificate_chain_file("cert.pem");
//   server.use_private_key_file("key.pem");
//
//   auto client = tls::context::client();          // verifies against the system's CAs
//   client.set_alpn_protocols({"h2", "http/1.1"});
//   auto s = co_await tls::connect(client, co_await net::tcp_stream::connect(addr), "example.com");
//
// Defaults are the safe ones: TLS 1.2 at least; OpenSSL's default ciphers and groups; a client
// verifies the server's chain against the system trust store and checks the host name it was
// given (which it also sends as SNI); renegotiation refused; session tickets on (a client
// context remembers the last session per host and offers it on the next connect to that host).
// Turning verification off takes an explicit call, disable_verification_dangerous().
//
// A context is a cheap, copyable handle (copies share one SSL_CTX). Configure it before the
// first connect/accept, from one thread; after that it may be used by any number of tasks on
// any workers at once. Setters throw std::system_error(tls::errc::configuration) naming the
// file and OpenSSL's reason when something does not load.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../../runtime/detail/export.hpp"
#include "error.hpp"

namespace corio::tls {

/// Which side of the handshake a context is for.
enum class role { client, server };

/// Protocol versions (for set_min_version / set_max_version).
enum class version { tls1_2, tls1_3 };

namespace detail {
struct context_impl;
}

/// Settings for TLS connections (see above). Copies share the same settings.
class CORIO_API context {
 public:
  /// A client context: verification on, system CAs, TLS 1.2 minimum.
  static context client() { return context(role::client); }
  /// A server context: give it a certificate chain and key before accepting.
  static context server() { return context(role::server); }
  /// A context for `r` (client() / server()). std::system_error if OpenSSL cannot make one.
  explicit context(tls::role r);

  /// The side this context is for.
  tls::role side() const noexcept;

  /// The certificate chain (leaf first) from a PEM file / from PEM text in memory.
  void use_certificate_chain_file(const std::string& path);
  void use_certificate_chain(std::string_view pem);
  /// The private key (PEM, unencrypted) from a file / from memory; checked against the chain if
  /// one is set already.
  void use_private_key_file(const std::string& path);
  void use_private_key(std::string_view pem);

  /// Trusts the CAs in a PEM file / a hashed directory (c_rehash) / PEM text, in addition to
  /// what is trusted already. A client context trusts the system store from the start.
  void load_verify_file(const std::string& path);
  void load_verify_dir(const std::string& path);
  void add_certificate_authority(std::string_view pem);

  /// The oldest / newest protocol version allowed (default: TLS 1.2 / the newest OpenSSL has).
  void set_min_version(version v);
  void set_max_version(version v);

  /// ALPN protocols, most preferred first ("h2", "http/1.1"). A client offers them; a server
  /// picks the first of its own list that the client offers (none if nothing matches: the
  /// handshake goes on without ALPN). std::system_error(configuration) for an empty or
  /// over-long (> 255 bytes) name.
  void set_alpn_protocols(const std::vector<std::string>& protocols);

  /// Session resumption (TLS 1.3 tickets and TLS 1.2 tickets): on by default. Off: a server
  /// issues no tickets, a client offers none.
  void set_session_resumption(bool on);

  /// Server: ask every client for a certificate and reject those without a valid one (verified
  /// against the CAs loaded with load_verify_* / add_certificate_authority).
  void require_client_certificate();

  /// Client: do not verify the server's certificate or host name. Anyone on the path can then
  /// read and change the traffic. Only for tests and for peers authenticated another way.
  void disable_verification_dangerous();
  /// Whether peer certificates are verified (client: true unless disabled; server: whether
  /// client certificates are required).
  bool verifies_peer() const noexcept;

  /// The shared state (for the stream implementation).
  const std::shared_ptr<detail::context_impl>& impl() const noexcept { return impl_; }

 private:
  std::shared_ptr<detail::context_impl> impl_;
};

}  // namespace corio::tls
