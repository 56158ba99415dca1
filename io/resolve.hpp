#pragma once
// corio::net::resolve — host name resolution (getaddrinfo) without blocking a worker: a
// numeric address is parsed in place; a name is looked up on the runtime's blocking pool
// (runtime/blocking.hpp), as Tokio's lookup_host does, and the task resumes when it is done.
//
//   auto addrs = co_await corio::net::resolve("localhost", 8080);   // IPv4 and IPv6 results
//
// Errors: std::system_error with the resolver's message (e.g. unknown host), in the
// corio::net::resolve_category().

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "../runtime/detail/export.hpp"
#include "../runtime/task.hpp"
#include "socket_address.hpp"

namespace corio::net {

/// Addresses for `host` (a name or a numeric address) and `port`, for stream sockets, in the
/// resolver's order; never empty (an error is thrown instead: std::system_error in
/// resolve_category() naming the host; a host with a NUL byte throws std::invalid_argument).
/// A numeric host ("127.0.0.1", "::1") is parsed without waiting; a name's getaddrinfo runs
/// on the blocking pool (a spawn_blocking job: it counts against max_blocking_threads, and the
/// runtime's shutdown waits for a lookup still running, as for any blocking job).
/// Cancel-safe: dropped, the lookup's result is discarded when it finishes.
/// Called from a task on a runtime (else corio::usage_error, from spawn_blocking).
CORIO_API task<std::vector<socket_address>> resolve(std::string host, std::uint16_t port);

/// The category of getaddrinfo's EAI_* codes.
CORIO_API const std::error_category& resolve_category() noexcept;

}  // namespace corio::net
