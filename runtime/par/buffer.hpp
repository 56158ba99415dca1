#pragma once
// corio::par::buffer<T> — a fixed-size owning array, the cheapest thing to collect into.
//
//   corio::par::buffer<std::uint64_t> out = corio::par::iter(in).map(f).collect<corio::par::buffer>();
//
// std::vector<T>(n) value-initialises its elements on the calling thread before anybody can
// write them in parallel: for a large fresh vector that first pass, which also takes every page
// fault, costs about as much as the parallel work itself. A buffer that `collect` allocates is
// filled in place instead: each element is constructed once, by the worker that computes it,
// and each worker first asks the kernel to map the pages of its own part of the output in one
// call (MADV_POPULATE_WRITE, where available) rather than faulting them in one by one.
//
// Otherwise a buffer is a plain move-only array: data(), size(), iteration, operator[],
// conversion to std::span. buffer<T>(n) value-initialises like std::vector (sequentially).

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace corio::par {

namespace detail {
/// Maps (populates) the whole pages inside [p, p + bytes) for writing, if the kernel supports
/// it; the part of the range outside whole pages is left to ordinary page faults.
void prefault_for_write(void* p, std::size_t bytes) noexcept;
/// Ranges smaller than this are not worth a system call.
inline constexpr std::size_t prefault_min_bytes = std::size_t{1} << 16;
struct buffer_access;
}  // namespace detail

/// A fixed-size, move-only array of T (see above). Like std::vector, not synchronised: parallel
/// writers must touch different elements.
template <class T>
class buffer {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using iterator = T*;
  using const_iterator = const T*;

  /// An empty buffer.
  buffer() noexcept = default;
  /// n value-initialised elements.
  explicit buffer(std::size_t n) : buffer(uninitialized(n)) {
    std::uninitialized_value_construct_n(data_, n);
    constructed_ = true;
  }
  buffer(buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), constructed_(o.constructed_) {}
  buffer& operator=(buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      constructed_ = o.constructed_;
    }
    return *this;
  }
  ~buffer() { release(); }

  /// The elements, their count, and the usual access (no bounds checks).
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  operator std::span<T>() noexcept { return {data_, size_}; }
  operator std::span<const T>() const noexcept { return {data_, size_}; }

 private:
  friend struct detail::buffer_access;
  static constexpr std::size_t storage_alignment = alignof(T) > 64 ? alignof(T) : 64;

  /// Storage for n elements, none constructed yet: the owner constructs every element (or none,
  /// for trivially destructible T) and then calls mark_constructed().
  static buffer uninitialized(std::size_t n) {
    buffer b;
    if (n) b.data_ = static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{storage_alignment}));
    b.size_ = n;
    b.constructed_ = false;
    return b;
  }
  void mark_constructed() noexcept { constructed_ = true; }

  void release() noexcept {
    if (!data_) return;
    if (constructed_) std::destroy_n(data_, size_);
    ::operator delete(data_, std::align_val_t{storage_alignment});
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  bool constructed_ = true;
};

}  // namespace corio::par
