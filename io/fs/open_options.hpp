#pragma once
// corio::fs::open_options — how file::open opens a file, as a builder:
//
//   auto f = co_await fs::file::open("log.txt", fs::open_options().append().create());
//
// The combinations mean what they mean for open(2) (and for Rust's OpenOptions):
//   read / write        access (both: O_RDWR); append implies write and makes every write go
//                       to the end of the file (O_APPEND)
//   create              create the file if it is missing (O_CREAT, with `mode` less the umask)
//   create_new          create it and fail with EEXIST if it exists (O_CREAT | O_EXCL); create
//                       and truncate are then ignored
//   truncate            empty an existing file (O_TRUNC); not with append
// Invalid combinations (no access at all; create or truncate without write access; truncate
// with append) make file::open throw std::system_error(EINVAL) naming the path.

#include <fcntl.h>

namespace corio::fs {

/// How file::open opens a file (see above); a plain value. Every option starts off, mode 0666.
class open_options {
 public:
  /// Each sets one option (see above) and returns *this, for chaining.
  ///@{
  open_options& read(bool on = true) noexcept { return set(read_, on); }
  open_options& write(bool on = true) noexcept { return set(write_, on); }
  open_options& append(bool on = true) noexcept { return set(append_, on); }
  open_options& create(bool on = true) noexcept { return set(create_, on); }
  open_options& create_new(bool on = true) noexcept { return set(create_new_, on); }
  open_options& truncate(bool on = true) noexcept { return set(truncate_, on); }
  ///@}
  /// Permission bits of a created file (default 0666), before the process's umask.
  open_options& mode(unsigned bits) noexcept {
    mode_ = bits;
    return *this;
  }
  /// Extra open(2) flags (O_NOFOLLOW, O_DIRECT, O_SYNC, ...); the access and creation flags
  /// above are computed from the other options. O_CLOEXEC is always added.
  open_options& custom_flags(int flags) noexcept {
    custom_ = flags;
    return *this;
  }

  ///@{
  /// Read back: read access, write access (write or append), append, creation mode.
  bool reads() const noexcept { return read_; }
  bool writes() const noexcept { return write_ || append_; }
  bool appends() const noexcept { return append_; }
  unsigned mode() const noexcept { return mode_; }
  ///@}

  /// The open(2) flags; -1 with *problem describing the mistake for an invalid combination.
  int flags(const char** problem) const noexcept {
    *problem = nullptr;
    int access;
    if (append_) access = (read_ ? O_RDWR : O_WRONLY) | O_APPEND;
    else if (read_ && write_) access = O_RDWR;
    else if (write_) access = O_WRONLY;
    else if (read_) access = O_RDONLY;
    else {
      *problem = "no access requested (read, write or append)";
      return -1;
    }
    int creation = 0;
    if (!write_ && !append_ && (create_ || create_new_ || truncate_)) {
      *problem = "create, create_new and truncate need write or append access";
      return -1;
    }
    if (append_ && truncate_ && !create_new_) {
      *problem = "truncate and append together";
      return -1;
    }
    if (create_new_) creation = O_CREAT | O_EXCL;
    else creation = (create_ ? O_CREAT : 0) | (truncate_ ? O_TRUNC : 0);
    return access | creation | (custom_ & ~O_ACCMODE);
  }

 private:
  open_options& set(bool& field, bool on) noexcept {
    field = on;
    return *this;
  }

  bool read_ = false, write_ = false, append_ = false;
  bool create_ = false, create_new_ = false, truncate_ = false;
  unsigned mode_ = 0666;
  int custom_ = 0;
};

}  // namespace corio::fs
