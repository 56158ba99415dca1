// libFuzzer harness: corio::net::socket_address parsing (issue 17). Any text either parses or
// throws std::invalid_argument; what parses contains no NUL and prints (to_string, fmt) back
// to text that parses to the same address. Also the (host, port) constructor and unix_path.

#include <corio/io/socket_address.hpp>

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using corio::net::socket_address;

void check(bool ok) {
  if (!ok) std::abort();
}

void round_trips(std::string_view text, const socket_address& a) {
  check(text.find('\0') == std::string_view::npos);
  std::string printed = a.to_string();
  check(fmt::format("{}", a) == printed);
  socket_address b = socket_address::parse(printed);  // must not throw
  check(a == b);
  check(b.to_string() == printed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    socket_address a = socket_address::parse(text);
    round_trips(text, a);
  } catch (const std::invalid_argument&) {
  }
  try {
    socket_address a(text, static_cast<std::uint16_t>(size * 257));
    round_trips(text, a);
    check(a.port() == static_cast<std::uint16_t>(size * 257));
  } catch (const std::invalid_argument&) {
  }
  try {
    socket_address a = socket_address::unix_path(text);
    round_trips(text, a);
    check(a.is_unix());
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
