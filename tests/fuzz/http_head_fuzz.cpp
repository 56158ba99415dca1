// libFuzzer harness for the HTTP/1.1 request-head parser of the examples (examples/http_head.hpp).
//   clang++-19 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/http_head_fuzz.cpp -o http_head_fuzz
//   ./http_head_fuzz -max_total_time=60 tests/fuzz/corpus/http_head
//
// Besides "no crash, no out-of-bounds read, no undefined behaviour", each input checks what the
// server relies on: the result is deterministic; a complete head lies inside the input, ends in
// CRLF CRLF, holds no NUL or bare LF, has a known method and a target without control bytes, and
// respects the limits; a failure carries one of the statuses the parser documents; nothing is
// incomplete once more than the head limit has arrived; every strict prefix of a complete head is
// incomplete (a request split over many reads parses the same as in one); and bytes after the
// head change nothing. Inputs run under two limit sets: the defaults and small ones (so 431 and
// 413 are reached).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../examples/http_head.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const http_head::result& a, const http_head::result& b) {
  if (a.state != b.state) return false;
  if (a.failed()) return a.err.status == b.err.status && a.err.detail == b.err.detail;
  if (a.incomplete()) return true;
  return a.value.method == b.value.method && a.value.target == b.value.target &&
         a.value.minor_version == b.value.minor_version && a.value.keep_alive == b.value.keep_alive &&
         a.value.content_length == b.value.content_length && a.value.head_bytes == b.value.head_bytes;
}

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void run(std::string_view in, const http_head::limits& lim) {
  auto r = http_head::parse(in, lim);
  check(same(r, http_head::parse(in, lim)));  // deterministic
  if (r.failed()) {
    int s = r.err.status;
    check(s == 400 || s == 413 || s == 431 || s == 501 || s == 505);
    check(!r.err.reason.empty() && !r.err.detail.empty());
    return;
  }
  if (r.incomplete()) {
    check(in.size() <= lim.max_head_bytes);
    return;
  }
  const http_head::head& h = r.value;
  check(h.head_bytes >= 4 && h.head_bytes <= in.size() && h.head_bytes <= lim.max_head_bytes);
  std::string_view head = in.substr(0, h.head_bytes);
  check(head.substr(head.size() - 4) == "\r\n\r\n");
  for (std::size_t i = 0; i < head.size(); ++i) {
    check(head[i] != '\0');
    if (head[i] == '\n') check(i > 0 && head[i - 1] == '\r');
  }
  check(inside(h.method, head) && inside(h.target, head));
  check(h.method == "GET" || h.method == "HEAD" || h.method == "POST" || h.method == "PUT" ||
        h.method == "DELETE" || h.method == "CONNECT" || h.method == "OPTIONS" || h.method == "TRACE" ||
        h.method == "PATCH");
  check(!h.target.empty());
  for (unsigned char c : h.target) check(c > 0x20 && c != 0x7f);
  check(h.minor_version >= 0 && h.minor_version <= 9);
  check(h.content_length <= lim.max_body_bytes);
  // Every strict prefix is incomplete (checked for a few, to keep each run linear).
  for (std::size_t k : {std::size_t{0}, h.head_bytes / 2, h.head_bytes - 2, h.head_bytes - 1})
    check(http_head::parse(head.substr(0, k), lim).incomplete());
  // The head alone parses the same, and so does the head followed by other bytes.
  check(same(r, http_head::parse(head, lim)));
  std::string more(head);
  more += "\n\x00 garbage";
  auto r2 = http_head::parse(more, lim);
  check(r2.complete() && r2.value.head_bytes == h.head_bytes && r2.value.content_length == h.content_length &&
        r2.value.keep_alive == h.keep_alive && r2.value.method == h.method);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  run(in, http_head::limits{});
  run(in, http_head::limits{64, 100});
  return 0;
}
