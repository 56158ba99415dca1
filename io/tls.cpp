// corio::tls on OpenSSL 3: the session state machine (detail/session.hpp) and the error category.
//
// Design
//   Each connection has one SSL object whose transport is two memory BIOs: `in` (ciphertext
//   from the peer, appended by feed()) and `out` (ciphertext for the peer, drained by
//   take_output()). OpenSSL never does I/O: the templates in tls/stream.hpp read from and write
//   to the stream underneath with its own async operations, so TLS works over any corio byte
//   stream and every wait is an ordinary cancellable socket wait.
//
// Locking (the split halves)
//   A read half and a write half may run at once on two workers, and both drive the one SSL
//   object (a read may meet a TLS 1.3 KeyUpdate or NewSessionTicket and queue a reply; a write
//   appends records). Every call into OpenSSL therefore holds session_impl::mu for exactly that
//   call, never across a suspension (no co_await happens under it). The socket I/O itself is
//   not under the lock: the reader reads S while the writer writes S.
//
// Who writes the output
//   Only one task at a time may write ciphertext to S, or records would interleave. The right
//   to do so is `flushing` (under mu). begin_flush() takes it if it is free and output is
//   pending, taking that output in the same critical section. The holder loops:
//   take_output() moves everything in `out` to its buffer and returns true, or — finding `out`
//   empty — clears `flushing` and returns false, in the same critical section; so output that
//   another task queued while the holder was writing is always seen by the holder before it
//   gives the right up. A reader that finds the right taken leaves its output to the holder and
//   goes on reading (it must never wait for a writer that may itself wait for the peer to read).
//   A writer that finds the right taken waits for flush_released (notify_all when the right is
//   given back) and tries again: its records were sent by the holder by then.
//
// Error queue
//   OpenSSL's error queue is per thread and a task moves between workers, so every OpenSSL call
//   here starts with an empty queue (ERR_clear_error(), or on the per-record paths
//   clear_errors(): a look, and a clear only if other code left something) and, on failure, the
//   queue is drained into the exception message before the function returns. Nothing of it
//   survives a return (or a co_await).
//
// Failures and cancellation
//   A fatal SSL error poisons the session (SSL is not usable after SSL_ERROR_SSL). The
//   templates poison it too when an operation is dropped or fails mid-record. A poisoned
//   session throws errc::stream_unusable from every entry point, quoting the first reason.

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#include "tls.hpp"

namespace corio::tls {

namespace {

class tls_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::handshake_failed: return "TLS handshake failed";
      case errc::certificate_verify_failed: return "TLS certificate verification failed";
      case errc::protocol_error: return "TLS protocol error";
      case errc::unexpected_eof: return "TLS peer closed the connection without close_notify";
      case errc::stream_unusable: return "TLS stream unusable after an interrupted or failed operation";
      case errc::configuration: return "TLS configuration error";
    }
    return "unknown TLS error";
  }
};

/// Empties this thread's OpenSSL error queue before a call whose failure is judged by it
/// (SSL_get_error). Our calls leave it empty, so this is usually one look at the queue, not a
/// clear of its sixteen slots; it still removes whatever other code on the thread left there.
inline void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

/// OpenSSL's error queue as "reason: reason", emptied. `fallback` if it was empty.
std::string drain_errors(const char* fallback) {
  std::string s;
  while (unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    char buf[256];
    if (!r) {
      ERR_error_string_n(e, buf, sizeof buf);
      r = buf;
    }
    if (!s.empty()) s += ": ";
    s += r;
  }
  return s.empty() ? std::string(fallback) : s;
}

[[noreturn]] void throw_config(const std::string& what) {
  std::string detail = drain_errors("unknown error");
  throw std::system_error(errc::configuration, "tls context: " + what + ": " + detail);
}

/// Makes OpenSSL compute and cache the extension data (key identifiers, CA flags, purposes) of
/// every certificate in `ctx`'s trust store now, on the configuring thread. OpenSSL fills that
/// cache lazily the first time a certificate takes part in a verification, and connections that
/// verify against the same fresh anchor on several workers at once then fill it concurrently
/// (ThreadSanitizer sees the anchor's key identifier written by one handshake while another
/// compares it). Filled here, the anchors are only read once handshakes run.
void warm_trust_store(SSL_CTX* ctx) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  if (store && X509_STORE_lock(store) == 1) {
    STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); ++i)
      if (X509* x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i))) X509_check_purpose(x, -1, 0);
    X509_STORE_unlock(store);
  }
  ERR_clear_error();  // also what loading left (the end of PEM text reads as an error)
}

}  // namespace

const std::error_category& error_category() noexcept {
  static const tls_category c;
  return c;
}

// ---------------------------------------------------------------------------------------------
// context

namespace detail {

struct ssl_ctx_deleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_session_deleter {
  void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};

struct context_impl {
  tls::role role = tls::role::client;
  std::unique_ptr<SSL_CTX, ssl_ctx_deleter> ctx;
  std::vector<unsigned char> alpn_wire;  // length-prefixed names (server: its preference order)
  bool verify = false;
  bool resumption = true;
  // Client: the newest session per host (stored by the new-session callback, offered on the
  // next connect to that host). Guarded by sessions_mu: tasks on any worker connect at once.
  std::mutex sessions_mu;
  std::map<std::string, std::unique_ptr<SSL_SESSION, ssl_session_deleter>, std::less<>> sessions;
};

namespace {

int ctx_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}
int ssl_host_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

/// Client: a new session (ticket) arrived; remember it for its host.
int on_new_session(SSL* ssl, SSL_SESSION* sess) {
  auto* impl = static_cast<context_impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index()));
  auto* host = static_cast<const std::string*>(SSL_get_ex_data(ssl, ssl_host_index()));
  if (!impl || !host || !impl->resumption) return 0;
  std::lock_guard lk(impl->sessions_mu);
  impl->sessions[*host].reset(sess);
  return 1;  // we keep the reference
}

/// Server: picks the first of our protocols that the client offers.
int on_alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                   unsigned int inlen, void* arg) {
  auto* impl = static_cast<context_impl*>(arg);
  const auto& ours = impl->alpn_wire;
  for (std::size_t i = 0; i < ours.size(); i += 1 + ours[i]) {
    for (unsigned j = 0; j < inlen; j += 1u + in[j]) {
      if (ours[i] == in[j] && j + 1 + in[j] <= inlen &&
          std::memcmp(&ours[i + 1], &in[j + 1], ours[i]) == 0) {
        *out = &in[j + 1];
        *outlen = in[j];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

int to_openssl(version v) { return v == version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

bio_ptr mem_bio(std::string_view pem) {
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return nullptr;
  return bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace
}  // namespace detail

context::context(tls::role r) : impl_(std::make_shared<detail::context_impl>()) {
  ERR_clear_error();
  impl_->role = r;
  impl_->ctx.reset(SSL_CTX_new(r == tls::role::client ? TLS_client_method() : TLS_server_method()));
  if (!impl_->ctx) throw_config("SSL_CTX_new");
  SSL_CTX* c = impl_->ctx.get();
  SSL_CTX_set_ex_data(c, detail::ctx_index(), impl_.get());
  if (!SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION)) throw_config("minimum version");
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
  if (r == tls::role::client) {
    if (!SSL_CTX_set_default_verify_paths(c)) throw_config("loading the system trust store");
    warm_trust_store(c);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    impl_->verify = true;
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, detail::on_new_session);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    static const unsigned char sid_ctx[] = "corio";
    SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_alpn_select_cb(c, detail::on_alpn_select, impl_.get());
  }
  ERR_clear_error();
}

tls::role context::side() const noexcept { return impl_->role; }

void context::use_certificate_chain_file(const std::string& path) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(impl_->ctx.get(), path.c_str()) != 1)
    throw_config("certificate chain file '" + path + "'");
}

void context::use_certificate_chain(std::string_view pem) {
  ERR_clear_error();
  auto bio = detail::mem_bio(pem);
  X509* leaf = bio ? PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!leaf) throw_config("certificate chain (PEM in memory)");
  int ok = SSL_CTX_use_certificate(impl_->ctx.get(), leaf);
  X509_free(leaf);
  if (ok != 1) throw_config("certificate chain (PEM in memory)");
  SSL_CTX_clear_chain_certs(impl_->ctx.get());
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(impl_->ctx.get(), ca) != 1) {
      X509_free(ca);
      throw_config("certificate chain (PEM in memory)");
    }
  }
  ERR_clear_error();  // the end of the PEM text reads as an error
}

void context::use_private_key_file(const std::string& path) {
  ERR_clear_error();
  if (SSL_CTX_use_PrivateKey_file(impl_->ctx.get(), path.c_str(), SSL_FILETYPE_PEM) != 1)
    throw_config("private key file '" + path + "'");
  if (SSL_CTX_get0_certificate(impl_->ctx.get()) && SSL_CTX_check_private_key(impl_->ctx.get()) != 1)
    throw_config("private key file '" + path + "' does not match the certificate");
}

void context::use_private_key(std::string_view pem) {
  ERR_clear_error();
  auto bio = detail::mem_bio(pem);
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!key) throw_config("private key (PEM in memory)");
  int ok = SSL_CTX_use_PrivateKey(impl_->ctx.get(), key);
  EVP_PKEY_free(key);
  if (ok != 1) throw_config("private key (PEM in memory)");
  if (SSL_CTX_get0_certificate(impl_->ctx.get()) && SSL_CTX_check_private_key(impl_->ctx.get()) != 1)
    throw_config("private key (PEM in memory) does not match the certificate");
}

void context::load_verify_file(const std::string& path) {
  ERR_clear_error();
  if (SSL_CTX_load_verify_file(impl_->ctx.get(), path.c_str()) != 1) throw_config("CA file '" + path + "'");
  warm_trust_store(impl_->ctx.get());
}

void context::load_verify_dir(const std::string& path) {
  ERR_clear_error();
  if (SSL_CTX_load_verify_dir(impl_->ctx.get(), path.c_str()) != 1) throw_config("CA directory '" + path + "'");
}

void context::add_certificate_authority(std::string_view pem) {
  ERR_clear_error();
  auto bio = detail::mem_bio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(impl_->ctx.get());
  int added = 0;
  while (X509* ca = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr) {
    int ok = X509_STORE_add_cert(store, ca);
    X509_free(ca);
    if (ok != 1) throw_config("CA certificate (PEM in memory)");
    ++added;
  }
  if (added == 0) throw_config("CA certificate (PEM in memory): no certificate found");
  warm_trust_store(impl_->ctx.get());
}

void context::set_min_version(version v) {
  ERR_clear_error();
  if (!SSL_CTX_set_min_proto_version(impl_->ctx.get(), detail::to_openssl(v))) throw_config("minimum version");
}

void context::set_max_version(version v) {
  ERR_clear_error();
  if (!SSL_CTX_set_max_proto_version(impl_->ctx.get(), detail::to_openssl(v))) throw_config("maximum version");
}

void context::set_alpn_protocols(const std::vector<std::string>& protocols) {
  std::vector<unsigned char> wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255)
      throw std::system_error(errc::configuration, "tls context: ALPN protocol names must be 1 to 255 bytes long");
    wire.push_back(static_cast<unsigned char>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  impl_->alpn_wire = wire;
  if (impl_->role == tls::role::client) {
    ERR_clear_error();
    // SSL_CTX_set_alpn_protos returns 0 on success.
    if (SSL_CTX_set_alpn_protos(impl_->ctx.get(), wire.data(), static_cast<unsigned>(wire.size())) != 0)
      throw_config("ALPN protocols");
  }
}

void context::set_session_resumption(bool on) {
  impl_->resumption = on;
  if (on)
    SSL_CTX_clear_options(impl_->ctx.get(), SSL_OP_NO_TICKET);
  else
    SSL_CTX_set_options(impl_->ctx.get(), SSL_OP_NO_TICKET);
  if (impl_->role == tls::role::server) {
    SSL_CTX_set_session_cache_mode(impl_->ctx.get(), on ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
    if (!on) SSL_CTX_set_num_tickets(impl_->ctx.get(), 0);
  }
}

void context::require_client_certificate() {
  SSL_CTX_set_verify(impl_->ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  impl_->verify = true;
}

void context::disable_verification_dangerous() {
  SSL_CTX_set_verify(impl_->ctx.get(), SSL_VERIFY_NONE, nullptr);
  impl_->verify = false;
}

bool context::verifies_peer() const noexcept { return impl_->verify; }

// ---------------------------------------------------------------------------------------------
// session

namespace detail {

struct session_impl {
  std::shared_ptr<context_impl> ctx;  // keeps the SSL_CTX alive
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // owned by ssl
  BIO* out = nullptr;  // owned by ssl
  std::string host;    // ex_data of ssl points here (session cache key)
  mutable std::mutex mu;
  bool flushing = false;
  bool eof = false;
  bool shut = false;
  std::string poisoned;  // non-empty: why the stream is unusable

  ~session_impl() {
    if (ssl) SSL_free(ssl);  // frees both BIOs
  }

  /// Throws for a failed SSL call (result r of operation `op`) and poisons the session. Called
  /// under mu with the error queue holding this call's errors.
  [[noreturn]] void fail(int r, const char* op, bool handshake) {
    int e = SSL_get_error(ssl, r);
    errc code = handshake ? errc::handshake_failed : errc::protocol_error;
    std::string reason;
    unsigned long first = ERR_peek_error();
    if (e == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL &&
        ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      code = errc::certificate_verify_failed;
      reason = drain_errors("certificate verify failed");
      long v = SSL_get_verify_result(ssl);
      if (v != X509_V_OK) reason += std::string(": ") + X509_verify_cert_error_string(v);
    } else if (e == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL &&
               ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      code = errc::unexpected_eof;
      reason = drain_errors("unexpected eof");
    } else if (e == SSL_ERROR_SYSCALL) {
      reason = drain_errors("transport error");
    } else {
      reason = drain_errors("unknown failure");
    }
    ERR_clear_error();
    std::string what = std::string("tls ") + op + ": " + reason;
    if (poisoned.empty()) poisoned = what;
    throw std::system_error(code, what);
  }

  /// Whether ciphertext waits in `out` to be flushed. Under mu.
  bool output_pending() const { return BIO_ctrl_pending(out) > 0; }

  /// Throws errc::stream_unusable ("tls <op>: the stream is unusable: <why>") if poisoned.
  void check_usable(const char* op) const {
    if (!poisoned.empty()) [[unlikely]]
      throw std::system_error(errc::stream_unusable, std::string("tls ") + op + ": the stream is unusable: " + poisoned);
  }

  [[noreturn]] void fail_eof(const char* op) {
    std::string what = std::string("tls ") + op + ": the peer closed the connection without close_notify";
    if (poisoned.empty()) poisoned = what;
    throw std::system_error(errc::unexpected_eof, what);
  }
};

namespace {
bool is_ip_literal(const std::string& h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}
}  // namespace

session::session(const context& ctx, role side, std::string_view host)
    : impl_(std::make_unique<session_impl>()), in_buf_(std::make_unique_for_overwrite<char[]>(input_capacity)) {
  auto& s = *impl_;
  s.ctx = ctx.impl();
  if (s.ctx->role != side)
    throw std::system_error(errc::configuration, side == role::client ? "tls connect: the context is a server context"
                                                                      : "tls accept: the context is a client context");
  bool client = s.ctx->role == tls::role::client;
  ERR_clear_error();
  s.ssl = SSL_new(s.ctx->ctx.get());
  if (!s.ssl) throw_config("SSL_new");
  s.in = BIO_new(BIO_s_mem());
  s.out = BIO_new(BIO_s_mem());
  if (!s.in || !s.out) {
    BIO_free(s.in);
    BIO_free(s.out);
    throw_config("BIO_new");
  }
  BIO_set_mem_eof_return(s.in, -1);  // empty input: "retry", not end of stream
  SSL_set_bio(s.ssl, s.in, s.out);
  s.host = host;
  if (client) {
    SSL_set_connect_state(s.ssl);
    SSL_set_ex_data(s.ssl, ssl_host_index(), &s.host);
    if (!s.host.empty()) {
      bool ip = is_ip_literal(s.host);
      if (!ip && SSL_set_tlsext_host_name(s.ssl, s.host.c_str()) != 1) throw_config("SNI host name '" + s.host + "'");
      if (s.ctx->verify) {
        X509_VERIFY_PARAM* param = SSL_get0_param(s.ssl);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, s.host.c_str()) : SSL_set1_host(s.ssl, s.host.c_str());
        if (ok != 1) throw_config("host name to verify '" + s.host + "'");
      }
    }
    if (s.ctx->resumption) {
      std::lock_guard lk(s.ctx->sessions_mu);
      auto it = s.ctx->sessions.find(s.host);
      if (it != s.ctx->sessions.end()) SSL_set_session(s.ssl, it->second.get());
    }
  } else {
    SSL_set_accept_state(s.ssl);
  }
  ERR_clear_error();
}

session::~session() = default;

session::status session::handshake() {
  auto& s = *impl_;
  std::lock_guard lk(s.mu);
  ERR_clear_error();
  int r = SSL_do_handshake(s.ssl);
  if (r == 1) return status::done;
  if (SSL_get_error(s.ssl, r) == SSL_ERROR_WANT_READ) {
    ERR_clear_error();
    if (s.eof) s.fail_eof("handshake");
    return status::want_read;
  }
  s.fail(r, "handshake", true);
}

session::read_result session::read(void* data, std::size_t n) {
  auto& s = *impl_;
  std::lock_guard lk(s.mu);
  s.check_usable("read");
  clear_errors();
  std::size_t got = 0;
  int r = SSL_read_ex(s.ssl, data, n, &got);
  if (r == 1) return {status::done, got, s.output_pending()};
  int e = SSL_get_error(s.ssl, r);
  if (e == SSL_ERROR_ZERO_RETURN) {
    clear_errors();
    return {status::done, 0, s.output_pending()};
  }
  if (e == SSL_ERROR_WANT_READ) {
    clear_errors();
    if (s.eof) s.fail_eof("read");
    return {status::want_read, 0, s.output_pending()};
  }
  s.fail(r, "read", false);
}

std::size_t session::write(const void* data, std::size_t n) {
  auto& s = *impl_;
  std::lock_guard lk(s.mu);
  s.check_usable("write");
  if (s.shut) throw std::system_error(errc::stream_unusable, "tls write: the stream was shut down (close_notify sent)");
  clear_errors();
  std::size_t done = 0;
  int r = SSL_write_ex(s.ssl, data, std::min(n, max_write), &done);
  if (r == 1) return done;
  s.fail(r, "write", false);
}

void session::shutdown() {
  auto& s = *impl_;
  std::lock_guard lk(s.mu);
  if (s.shut) return;
  s.shut = true;
  ERR_clear_error();
  int r = SSL_shutdown(s.ssl);  // queues close_notify; 0 means "not yet received the peer's"
  if (r < 0 && SSL_get_error(s.ssl, r) != SSL_ERROR_WANT_READ) s.fail(r, "shutdown", false);
  ERR_clear_error();
}

void session::feed(const void* data, std::size_t n) {
  auto& s = *impl_;
  std::lock_guard lk(s.mu);
  clear_errors();
  std::size_t written = 0;
  if (BIO_write_ex(s.in, data, n, &written) != 1 || written != n) {
    std::string what = "tls read: " + drain_errors("out of memory buffering input");
    if (s.poisoned.empty()) s.poisoned = what;
    throw std::system_error(errc::protocol_error, what);
  }
}

void session::feed_eof() noexcept {
  std::lock_guard lk(impl_->mu);
  impl_->eof = true;
}

namespace {
/// Moves the output BIO's bytes into `out`; false if it had none. Under the session's lock.
bool move_output(BIO* bio, std::string& out) {
  char* p = nullptr;
  long len = BIO_get_mem_data(bio, &p);
  if (len <= 0) return false;
  out.assign(p, static_cast<std::size_t>(len));
  (void)BIO_reset(bio);
  return true;
}
}  // namespace

session::flush_start session::begin_flush(std::string& out) {
  auto& s = *impl_;
  std::lock_guard lk(s.mu);
  if (s.flushing) return flush_start::busy;
  if (!move_output(s.out, out)) return flush_start::idle;
  s.flushing = true;
  return flush_start::took;
}

bool session::take_output(std::string& out) {
  {
    auto& s = *impl_;
    std::lock_guard lk(s.mu);
    if (move_output(s.out, out)) return true;
    s.flushing = false;
  }
  flush_released_.notify_all();
  return false;
}

bool session::has_output() {
  std::lock_guard lk(impl_->mu);
  return impl_->output_pending();
}

void session::abandon_flush() noexcept {
  {
    std::lock_guard lk(impl_->mu);
    impl_->flushing = false;
  }
  flush_released_.notify_all();
}

void session::poison(std::string_view why) noexcept {
  try {
    std::lock_guard lk(impl_->mu);
    if (impl_->poisoned.empty()) impl_->poisoned = std::string(why);
  } catch (...) {
  }
}

void session::check_usable(const char* op) {
  std::lock_guard lk(impl_->mu);
  impl_->check_usable(op);
}

std::string session::alpn() const {
  std::lock_guard lk(impl_->mu);
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(impl_->ssl, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string session::peer_subject() const {
  std::lock_guard lk(impl_->mu);
  ERR_clear_error();
  X509* cert = SSL_get0_peer_certificate(impl_->ssl);
  if (!cert) return {};
  bio_ptr b(BIO_new(BIO_s_mem()));
  std::string out;
  if (b && X509_NAME_print_ex(b.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* p = nullptr;
    long len = BIO_get_mem_data(b.get(), &p);
    if (len > 0) out.assign(p, static_cast<std::size_t>(len));
  }
  ERR_clear_error();
  return out;
}

std::string session::protocol_version() const {
  std::lock_guard lk(impl_->mu);
  return SSL_get_version(impl_->ssl);
}

bool session::session_reused() const {
  std::lock_guard lk(impl_->mu);
  return SSL_session_reused(impl_->ssl) == 1;
}

}  // namespace detail
}  // namespace corio::tls
