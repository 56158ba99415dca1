#include "resolve.hpp"

#include <fmt/format.h>
#include <netdb.h>

#include <stdexcept>

#include "../runtime/blocking.hpp"

namespace corio::net {

namespace {
class resolve_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};
}  // namespace

const std::error_category& resolve_category() noexcept {
  static const resolve_category_impl c;
  return c;
}

namespace {
/// getaddrinfo for stream sockets with `flags`, as a list; throws as resolve() documents.
/// With AI_NUMERICHOST it never blocks, and a name that is not a numeric address gives
/// EAI_NONAME: then `*not_numeric` is set and nothing is thrown.
std::vector<socket_address> lookup(const std::string& host, std::uint16_t port, int flags, bool* not_numeric) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc == EAI_NONAME && not_numeric) {
    *not_numeric = true;
    return {};
  }
  if (rc != 0) {
    int code = rc == EAI_SYSTEM ? errno : rc;
    const std::error_category& cat = rc == EAI_SYSTEM ? std::generic_category() : resolve_category();
    throw std::system_error(code, cat, fmt::format("resolve '{}'", host));
  }
  std::vector<socket_address> out;
  for (addrinfo* p = res; p; p = p->ai_next) out.emplace_back(p->ai_addr, p->ai_addrlen);
  ::freeaddrinfo(res);
  if (out.empty()) throw std::system_error(EAI_NONAME, resolve_category(), fmt::format("resolve '{}'", host));
  return out;
}
}  // namespace

task<std::vector<socket_address>> resolve(std::string host, std::uint16_t port) {
  // getaddrinfo would stop at a NUL and look up a shorter name.
  if (host.find('\0') != std::string::npos)
    throw std::invalid_argument(fmt::format("corio::net::resolve: host '{}' contains a NUL byte", host.substr(0, host.find('\0'))));
  bool not_numeric = false;
  auto numeric = lookup(host, port, AI_NUMERICHOST, &not_numeric);  // parses, never blocks
  if (!not_numeric) co_return numeric;
  // A name: the lookup may block (files, DNS), so it runs on the blocking pool. The callable is
  // built in its own statement: GCC 12 destroys a capturing lambda twice when it shares a
  // full-expression with co_await (a known miscompile).
  auto by_name = [host = std::move(host), port] { return lookup(host, port, 0, nullptr); };
  co_return co_await spawn_blocking(std::move(by_name));
}

}  // namespace corio::net
