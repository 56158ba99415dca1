#pragma once
// corio::owned_fd — an owned file descriptor, closed when dropped (like Rust's OwnedFd).
//
//   int raw = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
//   corio::net::tcp_stream s(corio::owned_fd(raw));   // s now owns and will close it
//
// The I/O types that wrap a descriptor (sockets, files, pipes) take one of these when they
// adopt a descriptor made elsewhere, so that who closes it is never in doubt.

#include <unistd.h>

#include <utility>

namespace corio {

/// Owns one file descriptor and closes it (close(2), synchronously, errors ignored) when
/// dropped or reset. Move-only; a moved-from or default-constructed owned_fd holds -1 and
/// closes nothing. Not synchronised: one thread at a time may use a given object.
class owned_fd {
 public:
  /// Holds no descriptor (-1).
  owned_fd() noexcept = default;
  /// Takes ownership of `fd` (any value: a negative one is "no descriptor").
  explicit owned_fd(int fd) noexcept : v_(fd) {}
  /// Takes over the other's descriptor; the other is left holding -1.
  owned_fd(owned_fd&& o) noexcept : v_(std::exchange(o.v_, -1)) {}
  /// Closes the held descriptor, then takes over the other's.
  owned_fd& operator=(owned_fd&& o) noexcept {
    if (this != &o) {
      reset();
      v_ = std::exchange(o.v_, -1);
    }
    return *this;
  }
  /// Closes the held descriptor.
  ~owned_fd() { reset(); }

  /// The descriptor (-1 if none); still owned by this object.
  int get() const noexcept { return v_; }
  /// True if a descriptor is held (get() >= 0).
  bool valid() const noexcept { return v_ >= 0; }
  /// Gives up ownership: returns the descriptor (-1 if none), which the caller must close.
  int release() noexcept { return std::exchange(v_, -1); }
  /// Closes the held descriptor now, if any; then holds -1.
  void reset() noexcept {
    if (v_ >= 0) ::close(std::exchange(v_, -1));
  }

 private:
  int v_ = -1;
};

}  // namespace corio
