#pragma once
// Certificates for the TLS tests, made with OpenSSL's API (P-256 keys): a CA, leaves signed by
// it with chosen names and validity (expired ones too), as PEM text or files.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace corio::test::tls_certs {

struct pem {
  std::string cert, key;
};

namespace detail {

inline std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

inline EVP_PKEY* p256() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) throw std::runtime_error("EVP_EC_gen failed");
  return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error("bad extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key` named `cn`, signed by (issuer, issuer_key) or self-signed.
inline pem make(const std::string& cn, const std::string& san, bool is_ca, long from_s, long to_s,
                const pem* issuer) {
  EVP_PKEY* key = p256();
  X509* x = X509_new();
  X509_set_version(x, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), from_s);
  X509_gmtime_adj(X509_getm_notAfter(x), to_s);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = x;
  EVP_PKEY* sign_key = key;
  if (issuer) {
    BIO* b = BIO_new_mem_buf(issuer->cert.data(), static_cast<int>(issuer->cert.size()));
    issuer_cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    b = BIO_new_mem_buf(issuer->key.data(), static_cast<int>(issuer->key.size()));
    sign_key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
  }
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  add_ext(x, issuer_cert, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (is_ca) add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (!san.empty()) add_ext(x, issuer_cert, NID_subject_alt_name, san.c_str());
  X509_sign(x, sign_key, EVP_sha256());
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  pem out{bio_text(cb), bio_text(kb)};
  if (issuer) {
    X509_free(issuer_cert);
    EVP_PKEY_free(sign_key);
  }
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace detail

constexpr long day = 86400;

/// A self-signed CA valid from yesterday for a year.
inline pem make_ca(const std::string& cn) { return detail::make(cn, "", true, -day, 365 * day, nullptr); }
/// A leaf for "localhost" / 127.0.0.1 / ::1 signed by `ca` (valid from yesterday for a year).
inline pem make_leaf(const pem& ca, const std::string& cn = "localhost",
                     const std::string& san = "DNS:localhost,IP:127.0.0.1,IP:::1") {
  return detail::make(cn, san, false, -day, 365 * day, &ca);
}
/// A leaf that expired yesterday.
inline pem make_expired_leaf(const pem& ca) {
  return detail::make("localhost", "DNS:localhost,IP:127.0.0.1", false, -30 * day, -day, &ca);
}

/// Writes `text` to `path` (throws on failure).
inline void write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

}  // namespace corio::test::tls_certs
