#pragma once
// An HTTP/1.1 request-head parser (RFC 9112), shared by examples/http_hello.cpp and the fuzz
// harness tests/fuzz/http_head_fuzz.cpp. Plain C++: no I/O, no allocation, deterministic.
//
// parse(buffer) looks at the start of `buffer` (what a connection has received so far) and says
// one of: the head is complete (its fields, and how many bytes it took), more bytes are needed,
// or the request is bad (a status code, its reason phrase and a one-line explanation). It is
// strict where leniency opens request smuggling behind a proxy (RFC 9112 sections 2.2, 3, 5 and
// 6.3), and answers each of these with 400:
//   - a line ending in a bare LF, or a bare CR anywhere (only CRLF ends a line);
//   - a method that is not one of GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH (RFC 9110
//     would allow 501 for a well-formed unknown token; an unknown method here is far more often
//     the tail of a body a proxy and this server disagreed about, as in "helloGET"), anything
//     but one SP between the request-line's parts, a
//     request-target with a control byte or a space, a malformed HTTP-version;
//   - a field name that is not a token, whitespace between a field name and its colon
//     ("Content-Length : 5"), a folded line (obs-fold), NUL or another control byte in a value;
//   - a Content-Length that is not all digits, overflows, or differs from an earlier one;
//   - both Content-Length and Transfer-Encoding.
// Also: an HTTP version other than 1.x is 505; a Transfer-Encoding (this parser knows no
// transfer coding, so no chunked bodies) is 501; a head longer than limits.max_head_bytes is
// 431; a Content-Length above limits.max_body_bytes is 413. Empty lines before the request-line
// are skipped (RFC 9112 section 2.2). A missing Host header is accepted.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace http_head {

/// What parse() accepts.
struct limits {
  std::size_t max_head_bytes = 8192;         ///< request-line and fields, with the blank line
  std::uint64_t max_body_bytes = 1u << 20;  ///< largest Content-Length accepted
};

/// A parsed request head. The views point into the buffer given to parse().
struct head {
  std::string_view method;
  std::string_view target;
  int minor_version = 1;            ///< HTTP/1.<minor_version>
  bool keep_alive = true;           ///< from the version and the Connection field
  std::uint64_t content_length = 0; ///< body bytes that follow the head
  std::size_t head_bytes = 0;       ///< bytes of the buffer the head took (blank line included)
};

/// Why a request is refused: the status to answer with, its reason phrase, and what was wrong.
struct error {
  int status = 400;
  std::string_view reason = "Bad Request";
  std::string_view detail;
};

/// The outcome of parse(): complete (use `value`), incomplete (read more), or failed (`err`).
struct result {
  enum class kind { complete, incomplete, failed };
  kind state = kind::incomplete;
  head value;
  error err;

  bool complete() const noexcept { return state == kind::complete; }
  bool incomplete() const noexcept { return state == kind::incomplete; }
  bool failed() const noexcept { return state == kind::failed; }
};

namespace detail {

inline bool is_tchar(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

inline bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

inline bool is_known_method(std::string_view m) noexcept {
  for (std::string_view k : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
    if (m == k) return true;
  return false;
}

/// VCHAR, obs-text, SP and HTAB: what a field value may hold.
inline bool is_field_char(unsigned char c) noexcept { return c == '\t' || (c >= 0x20 && c != 0x7f); }

inline char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Whether the comma-separated list `value` holds `option` (case-insensitive).
inline bool list_has(std::string_view value, std::string_view option) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), option)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

inline result fail(int status, std::string_view reason, std::string_view detail) noexcept {
  result r;
  r.state = result::kind::failed;
  r.err = error{status, reason, detail};
  return r;
}

inline result bad(std::string_view detail) noexcept { return fail(400, "Bad Request", detail); }

}  // namespace detail

/// Parses the request head at the start of `buf` (see the top of this file). Never throws; the
/// views in the result point into `buf`. Looks at no more than lim.max_head_bytes + 1 bytes.
inline result parse(std::string_view buf, const limits& lim = {}) noexcept {
  using namespace detail;
  // Skip empty lines before the request-line (they count as head bytes, so they are bounded).
  std::size_t start = 0;
  while (start + 1 < buf.size() && start < lim.max_head_bytes && buf[start] == '\r' && buf[start + 1] == '\n')
    start += 2;
  if (start < buf.size() && buf[start] == '\n') return bad("bare LF line ending (only CRLF ends a line)");

  // Find the blank line that ends the head, checking every line ending on the way.
  std::size_t scan_end = buf.size() < lim.max_head_bytes + 1 ? buf.size() : lim.max_head_bytes + 1;
  std::size_t end = std::string_view::npos;  // index just past the final CRLF CRLF
  for (std::size_t i = start; i < scan_end; ++i) {
    char c = buf[i];
    if (c == '\n') {
      if (i == 0 || buf[i - 1] != '\r') return bad("bare LF line ending (only CRLF ends a line)");
      if (i >= start + 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
        end = i + 1;
        break;
      }
    } else if (c == '\r') {
      if (i + 1 < buf.size() && buf[i + 1] != '\n') return bad("bare CR in the request head");
    }
  }
  if (end == std::string_view::npos) {
    if (buf.size() > lim.max_head_bytes)
      return fail(431, "Request Header Fields Too Large", "request head longer than the limit");
    return result{};  // incomplete
  }
  if (end > lim.max_head_bytes)
    return fail(431, "Request Header Fields Too Large", "request head longer than the limit");

  result r;
  head& h = r.value;
  h.head_bytes = end;
  std::string_view rest = buf.substr(start, end - 2 - start);  // lines, each ending in CRLF

  // request-line = method SP request-target SP HTTP-version
  std::size_t eol = rest.find("\r\n");
  std::string_view line = rest.substr(0, eol);
  rest.remove_prefix(eol + 2);
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return bad("request-line without spaces");
  h.method = line.substr(0, sp1);
  if (!is_token(h.method)) return bad("method is not a token");
  if (!is_known_method(h.method)) return bad("unknown method");
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return bad("request-line without an HTTP version");
  h.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (h.target.empty()) return bad("empty request-target (or two spaces)");
  for (unsigned char c : h.target)
    if (c <= 0x20 || c == 0x7f) return bad("control byte or space in the request-target");
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return bad("malformed HTTP version");
  if (version[5] != '1') return fail(505, "HTTP Version Not Supported", "only HTTP/1.x is served");
  h.minor_version = version[7] - '0';
  h.keep_alive = h.minor_version >= 1;

  // field-line = field-name ":" OWS field-value OWS
  bool have_length = false, have_encoding = false;
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (line.front() == ' ' || line.front() == '\t') return bad("folded header line (obs-fold)");
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return bad("header line without a colon");
    std::string_view name = line.substr(0, colon);
    if (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
      return bad("whitespace between a header name and its colon");
    if (!is_token(name)) return bad("header name is not a token");
    std::string_view raw = line.substr(colon + 1);
    for (unsigned char c : raw)
      if (!is_field_char(c)) return bad("control byte in a header value");
    std::string_view value = trim_ows(raw);
    if (iequals(name, "content-length")) {
      if (value.empty()) return bad("empty Content-Length");
      std::uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return bad("Content-Length is not a number");
        if (n > (UINT64_MAX - 9) / 10) return bad("Content-Length overflows");
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (have_length && n != h.content_length) return bad("two different Content-Length values");
      have_length = true;
      h.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      have_encoding = true;
    } else if (iequals(name, "connection")) {
      if (list_has(value, "close")) h.keep_alive = false;
      else if (list_has(value, "keep-alive")) h.keep_alive = true;
    }
  }
  if (have_length && have_encoding) return bad("both Content-Length and Transfer-Encoding");
  if (have_encoding) return fail(501, "Not Implemented", "Transfer-Encoding is not supported");
  if (h.content_length > lim.max_body_bytes) return fail(413, "Content Too Large", "body longer than the limit");
  r.state = result::kind::complete;
  return r;
}

}  // namespace http_head
