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
// fills it runs on the thread that drops the read, while that task cannot read. The one
// exception is stdin's stash (fs::stdin_stream()): every copy of the reader shares it, so it is
// made `shared` and each take or keep holds a process-wide lock.

#include <cstddef>
#include <memory>

#include "../../runtime/detail/export.hpp"

namespace corio::detail {

class CORIO_API read_stash {
 public:
  /// Tag of a stash several readers use at once.
  struct shared_t {
    explicit shared_t() = default;
  };
  static constexpr shared_t shared{};

  /// A stash for one stream (no locking).
  read_stash() noexcept = default;
  /// A stash shared by readers on any threads: take and keep hold a process-wide lock.
  explicit read_stash(shared_t) noexcept : shared_(true) {}
  /// Moves what is kept (a stream socket's split() hands it to the read half); leaves `o` empty.
  /// Not for a shared stash.
  read_stash(read_stash&& o) noexcept;
  read_stash& operator=(read_stash&& o) noexcept;

  /// True if nothing is kept (for a shared stash, a snapshot that may be stale at once).
  bool empty() const noexcept { return shared_ ? locked_empty() : off_ == size_ && end_ == 0; }

  /// Answers the next read if something is kept: sets `res` to the count of up to `n` kept
  /// bytes (copied to `data`), else to the kept end of stream (0) or error (-errno), each
  /// reported once (the kernel repeats an end that is for good), and returns true. False:
  /// nothing is kept, ask the kernel. On a shared stash the check and the take are one step,
  /// so two readers never get the same answer.
  bool take(void* data, std::size_t n, int& res) noexcept {
    if (!shared_ && off_ == size_ && end_ == 0) return false;  // the usual case, inline
    return take_slow(data, n, res);
  }

  /// The outcome of a read nobody will see: `res` bytes of `buf` (kept), 0 (end of stream) or
  /// -errno. -ECANCELED (nothing happened) is ignored. If the bytes cannot be kept for want of
  /// memory, the next read fails with ENOBUFS rather than skipping them silently.
  void keep(int res, const void* buf) noexcept;

 private:
  bool locked_empty() const noexcept;
  bool take_slow(void* data, std::size_t n, int& res) noexcept;
  bool take_unlocked(void* data, std::size_t n, int& res) noexcept;
  void keep_unlocked(int res, const void* buf) noexcept;

  std::unique_ptr<unsigned char[]> bytes_;
  std::size_t size_ = 0, off_ = 0;
  int end_ = 0;          ///< 0: none; eof_mark: the stream ended; < 0: -errno of a failed read
  bool shared_ = false;  ///< every access under the process-wide stash lock
};

}  // namespace corio::detail
