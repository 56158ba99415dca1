#pragma once
// An owned file descriptor, closed (synchronously) when dropped.

#include <unistd.h>

#include <utility>

namespace corio::detail {

class fd {
 public:
  fd() noexcept = default;
  explicit fd(int v) noexcept : v_(v) {}
  fd(fd&& o) noexcept : v_(std::exchange(o.v_, -1)) {}
  fd& operator=(fd&& o) noexcept {
    if (this != &o) {
      reset();
      v_ = std::exchange(o.v_, -1);
    }
    return *this;
  }
  ~fd() { reset(); }

  int get() const noexcept { return v_; }
  bool valid() const noexcept { return v_ >= 0; }
  int release() noexcept { return std::exchange(v_, -1); }
  void reset() noexcept {
    if (v_ >= 0) ::close(std::exchange(v_, -1));
  }

 private:
  int v_ = -1;
};

/// Throws std::system_error(errno) naming `what` if `rc` < 0; returns rc.
int check(int rc, const char* what);

}  // namespace corio::detail
