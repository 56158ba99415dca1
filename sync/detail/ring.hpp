#pragma once
// A growable circular buffer (a deque without per-element allocation) for channel queues.
// Storage grows by doubling and is never shrunk; a bounded channel's buffer therefore stops
// growing at its capacity (plus one element, in the rare case of a cancelled receive putting
// its message back). Requires T to be nothrow move constructible (checked by the channels), so
// growing is all-or-nothing. Not thread-safe.

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace corio::detail {

template <class T>
class ring {
 public:
  ring() noexcept = default;
  explicit ring(std::size_t initial_capacity) {
    if (initial_capacity) reallocate(initial_capacity);
  }
  ring(ring&& o) noexcept
      : buf_(std::exchange(o.buf_, nullptr)),
        cap_(std::exchange(o.cap_, 0)),
        head_(std::exchange(o.head_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  ring& operator=(ring&& o) noexcept {
    if (this != &o) {
      release();
      buf_ = std::exchange(o.buf_, nullptr);
      cap_ = std::exchange(o.cap_, 0);
      head_ = std::exchange(o.head_, 0);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() { release(); }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return cap_; }

  T& front() noexcept { return buf_[head_]; }

  template <class... Args>
  void emplace_back(Args&&... args) {
    if (size_ == cap_) grow();
    std::size_t i = head_ + size_;
    if (i >= cap_) i -= cap_;
    ::new (static_cast<void*>(buf_ + i)) T(std::forward<Args>(args)...);
    ++size_;
  }
  void push_front(T&& v) {
    if (size_ == cap_) grow();
    std::size_t i = head_ == 0 ? cap_ - 1 : head_ - 1;
    ::new (static_cast<void*>(buf_ + i)) T(std::move(v));
    head_ = i;
    ++size_;
  }
  /// Destroys the front element.
  void pop_front() noexcept {
    std::destroy_at(buf_ + head_);
    if (++head_ == cap_) head_ = 0;
    --size_;
  }
  /// Destroys every element, oldest first.
  void clear() noexcept {
    while (size_) pop_front();
    head_ = 0;
  }

 private:
  void grow() { reallocate(cap_ < 4 ? 4 : 2 * cap_); }
  void reallocate(std::size_t n) {
    T* nb = std::allocator<T>().allocate(n);
    for (std::size_t k = 0; k < size_; ++k) {
      std::size_t i = head_ + k;
      if (i >= cap_) i -= cap_;
      ::new (static_cast<void*>(nb + k)) T(std::move(buf_[i]));
      std::destroy_at(buf_ + i);
    }
    if (buf_) std::allocator<T>().deallocate(buf_, cap_);
    buf_ = nb;
    cap_ = n;
    head_ = 0;
  }
  void release() noexcept {
    clear();
    if (buf_) std::allocator<T>().deallocate(buf_, cap_);
    buf_ = nullptr;
    cap_ = 0;
  }

  T* buf_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace corio::detail
