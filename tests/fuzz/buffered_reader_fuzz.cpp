// libFuzzer harness: corio::buffered_reader line splitting (issue 17), over an in-memory stream
// that hands its bytes out in chunks chosen by the input, in a current_thread runtime.
//
// Input: byte 0 picks the buffer capacity (1..64), byte 1 the longest line (0: no limit),
// byte 2 the chunk pattern and the mix of calls; the rest is the stream. Checked: every byte
// comes out exactly once and in order (lines, skipped tails and plain reads together), every
// line but the last ends with '\n' and holds no other '\n', no line exceeds the limit, and
// line_too_long comes exactly when a line is longer than the limit.

#include <corio/corio.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

/// A stream over a string: each read gives at most the next chunk size of the pattern.
struct memory_stream {
  std::string_view data;
  std::size_t pos = 0;
  std::uint8_t pattern = 0;
  std::size_t reads = 0;

  corio::task<std::size_t> read(void* p, std::size_t n) {
    std::size_t chunk = 1 + ((pattern >> (reads++ % 4) * 2) & 3) * 7;  // 1, 8, 15 or 22
    std::size_t k = std::min({n, chunk, data.size() - pos});
    std::memcpy(p, data.data() + pos, k);
    pos += k;
    co_return k;
  }
};

corio::task<void> split(std::string_view input, std::size_t capacity, std::size_t limit, std::uint8_t pattern) {
  memory_stream stream{input, 0, pattern};
  corio::buffered_reader reader(stream, capacity);
  if (limit) reader.set_max_line_length(limit);
  std::string out;  // everything handed out, in order
  std::size_t step = 0;
  for (;;) {
    if ((pattern >> 7) && ++step % 3 == 0) {  // a plain read now and then
      char small[5];
      std::size_t n = co_await reader.read(small, 1 + step % sizeof small);
      if (n == 0) break;
      out.append(small, n);
      continue;
    }
    std::string line;
    std::size_t n = 0;
    bool too_long = false;
    try {
      n = co_await reader.read_line(line);
    } catch (const corio::line_too_long& e) {
      too_long = true;
      check(limit != 0 && e.limit() == limit);
    }
    if (too_long) {
      check(line.size() == limit && line.find('\n') == std::string::npos);
      out += line;
      // The rest of the line, in bounded pieces (skip_until would lose the bytes to compare).
      std::size_t before = out.size();
      for (;;) {
        char c;
        std::size_t k = co_await reader.read(&c, 1);
        if (k == 0) break;
        out += c;
        if (c == '\n') break;
      }
      check(out.size() > before || stream.pos == input.size());
      continue;
    }
    if (n == 0) break;
    check(n == line.size());
    std::size_t nl = line.find('\n');
    check(nl == std::string::npos || nl == line.size() - 1);
    if (nl == std::string::npos) check(stream.pos == input.size() && reader.buffered().empty());
    if (limit) check(line.size() - (nl == std::string::npos ? 0 : 1) <= limit);
    out += line;
  }
  check(out == input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  static corio::runtime rt = corio::runtime::builder().current_thread().build();
  std::size_t capacity = 1 + data[0] % 64;
  std::size_t limit = data[1];
  std::uint8_t pattern = data[2];
  std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  rt.block_on(split(input, capacity, limit, pattern));
  return 0;
}
