#pragma once
// Whether this system's resolver knows a name, so tests that need it can skip (with a message)
// on a minimal root whose /etc/hosts lacks it, as liburing's tests skip what the kernel lacks.

#include <netdb.h>
#include <sys/socket.h>

namespace corio::test {

/// Whether getaddrinfo resolves `host` (for stream sockets) on this system.
inline bool system_resolves(const char* host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host, "80", &hints, &res) != 0) return false;
  ::freeaddrinfo(res);
  return true;
}

}  // namespace corio::test
