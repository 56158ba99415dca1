#pragma once
// Reading and writing on a descriptor, shared by sockets, pipes and files: one operation
// (read_some / write_some, awaitables), or loops that finish the job (read_exact, write_all).

#include <cstddef>
#include <cstdint>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"
#include "io_call.hpp"

namespace corio::detail {

/// One recv (sockets) or read (anything else): the number of bytes read, 0 at end of stream.
inline io_call<to_size> read_some(int fd, void* data, std::size_t n, bool socket) {
  return socket ? io_call<to_size>(recv_request(fd, data, n), "recv")
                : io_call<to_size>(rw_request(io_kind::read, fd, data, n, -1), "read");
}
/// One send (sockets, never raising SIGPIPE) or write: the number of bytes written (may be short).
inline io_call<to_size> write_some(int fd, const void* data, std::size_t n, bool socket) {
  return socket ? io_call<to_size>(send_request(fd, data, n), "send")
                : io_call<to_size>(rw_request(io_kind::write, fd, data, n, -1), "write");
}
/// Reads exactly n bytes; corio::unexpected_eof if the stream ends first.
CORIO_API task<void> read_exact(int fd, void* data, std::size_t n, bool socket);
/// Writes all n bytes, however short the individual writes are.
CORIO_API task<void> write_all(int fd, const void* data, std::size_t n, bool socket);

}  // namespace corio::detail
