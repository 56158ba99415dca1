#pragma once
// What a stream read took from the kernel but could not hand to its caller, kept for the next
// read on the same stream.
//
// A read that loses a select or a timeout, or whose task is aborted, is cancelled in the
// kernel. With io_uring the request may have completed first: the kernel has already copied
// bytes (or seen the end of the stream, or an error) into the caller's buffer, and the socket
// no longer holds them. The same happens with epoll when a read finished at once and its task
// was dropped before it ran again. The read's cancel hook (io_awaitable::abandon) then moves
// that outcome here, while the buffer is still alive (the frame that owns it waits for the
// cancellation), and the stream's next read or read_exact returns it before it asks the
// kernel for more. So a stream read that has returned nothing is cancel-safe: no byte is lost
// or reordered.
//
// Threads: a stash belongs to one stream, which one task at a time reads; the abandon that
// fills it runs on the thread that drops the read, while that task cannot read.

#include <cstddef>
#include <memory>

#include "../../runtime/detail/export.hpp"

namespace corio::detail {

class CORIO_API read_stash {
 public:
  /// True if the next read can be answered from here.
  bool empty() const noexcept { return off_ == size_ && end_ == 0; }

  /// The next read: up to `n` kept bytes, else the kept end of stream (0) or error (-errno,
  /// reported once). Only when !empty().
  int take(void* data, std::size_t n) noexcept;

  /// The outcome of a read nobody will see: `res` bytes of `buf` (kept), 0 (end of stream) or
  /// -errno. -ECANCELED (nothing happened) is ignored. If the bytes cannot be kept for want of
  /// memory, the next read fails with ENOBUFS rather than skipping them silently.
  void keep(int res, const void* buf) noexcept;

 private:
  std::unique_ptr<unsigned char[]> bytes_;
  std::size_t size_ = 0, off_ = 0;
  int end_ = 0;  ///< 0: none; eof_mark: the stream ended; < 0: -errno of a failed read
};

}  // namespace corio::detail
