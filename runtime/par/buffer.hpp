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
// Large buffers (bulk_min_bytes and up) are mapped directly, on 2 MiB boundaries, and marked
// for transparent huge pages (MADV_HUGEPAGE): one fault then maps 2 MiB instead of 4 KiB. On a
// virtual machine, where a 4 KiB first-touch fault costs several microseconds, this decides the
// time of filling a fresh buffer. With THP disabled system-wide ("never") the hint does nothing
// and the buffer behaves as any other mapping. The sorts take their scratch arrays the same way.
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

#include "../detail/export.hpp"

namespace corio::par {

namespace detail {
/// Maps (populates) the whole pages inside [p, p + bytes) for writing, if the kernel supports
/// it; the part of the range outside whole pages is left to ordinary page faults.
CORIO_API void prefault_for_write(void* p, std::size_t bytes) noexcept;
/// Ranges smaller than this are not worth a system call.
inline constexpr std::size_t prefault_min_bytes = std::size_t{1} << 16;

/// Allocations of at least this many bytes are mapped on their own, with huge pages.
inline constexpr std::size_t bulk_min_bytes = std::size_t{4} << 20;
/// Uninitialised storage for `bytes` bytes aligned to `align` (a power of two; at most 2 MiB
/// for bulk sizes): operator new below bulk_min_bytes, a huge-page mapping from there on.
/// Throws std::bad_alloc.
CORIO_API void* allocate_bulk(std::size_t bytes, std::size_t align);
/// Frees what allocate_bulk(bytes, align) returned, with the same arguments.
CORIO_API void deallocate_bulk(void* p, std::size_t bytes, std::size_t align) noexcept;

/// A deleter for arrays of trivially destructible T in allocate_bulk storage.
template <class T>
struct bulk_deleter {
  std::size_t n = 0;
  void operator()(T* p) const noexcept { deallocate_bulk(p, n * sizeof(T), alignof(T)); }
};
/// Uninitialised bulk storage for n trivially destructible T.
template <class T>
std::unique_ptr<T[], bulk_deleter<T>> make_bulk_array(std::size_t n) {
  static_assert(std::is_trivially_destructible_v<T>);
  return {static_cast<T*>(allocate_bulk(n * sizeof(T), alignof(T))), bulk_deleter<T>{n}};
}
struct buffer_access;
}  // namespace detail

/// A fixed-size, move-only array of T (see above). Like std::vector, not synchronised: parallel
/// writers must touch different elements.
template <class T>
class buffer {
 public:
  ///@{
  /// The usual container types.
  using value_type = T;
  using size_type = std::size_t;
  using iterator = T*;
  using const_iterator = const T*;
  ///@}

  /// An empty buffer.
  buffer() noexcept = default;
  /// n value-initialised elements.
  explicit buffer(std::size_t n) : buffer(uninitialized(n)) {
    std::uninitialized_value_construct_n(data_, n);
    constructed_ = true;
  }
  /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
  buffer(buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), constructed_(o.constructed_) {}
  /// Releases what this object holds (as its destructor does), then takes over `o`'s state.
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

  ///@{
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
  ///@}

 private:
  friend struct detail::buffer_access;
  static constexpr std::size_t storage_alignment = alignof(T) > 64 ? alignof(T) : 64;
  static constexpr std::size_t max_size() noexcept { return std::size_t(-1) / 2 / sizeof(T); }

  /// Storage for n elements, none constructed yet: the owner constructs every element (or none,
  /// for trivially destructible T) and then calls mark_constructed().
  static buffer uninitialized(std::size_t n) {
    buffer b;
    if (n > max_size()) throw std::bad_array_new_length();
    if (n) b.data_ = static_cast<T*>(detail::allocate_bulk(n * sizeof(T), storage_alignment));
    b.size_ = n;
    b.constructed_ = false;
    return b;
  }
  void mark_constructed() noexcept { constructed_ = true; }

  void release() noexcept {
    if (!data_) return;
    if (constructed_) std::destroy_n(data_, size_);
    detail::deallocate_bulk(data_, size_ * sizeof(T), storage_alignment);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  bool constructed_ = true;
};

}  // namespace corio::par
