#pragma once
// corio::unsync<T> — an object that is not thread-safe, shared between tasks, with a run-time
// check that no two threads use it at the same time.
//
//   corio::unsync<std::unordered_map<int, int>> cache;     // shared by the tasks of a runtime
//   {
//     auto c = cache.borrow();                             // in use by this thread until `c` ends
//     (*c)[1] = 2;
//   }
//
// Rust refuses at compile time to share a non-Sync value between threads; C++ cannot tell
// whether an object two tasks share is used from two workers at once. unsync<T> makes the
// sharing visible and checks it while the program runs: borrow() marks the object as in use by
// the calling thread until the borrow ends. A borrow from another thread while it is in use
// throws corio::usage_error naming both places (file:line of each borrow) instead of letting
// the two threads race. Nested borrows on one thread are fine (they are counted).
//
// It is a check, not a lock: it never waits. Where two tasks really do need the object at the
// same time, use corio::mutex<T> (async, waits) or std::mutex around short sections. Keep
// borrows short, and do not hold one across co_await: the task may resume on another thread,
// where the check no longer sees which thread uses the object. The check costs one
// compare-and-swap per borrow and one per release.

#include <atomic>
#include <cstdint>
#include <source_location>
#include <string>
#include <utility>

#include "../runtime/detail/export.hpp"
#include "../runtime/error.hpp"

namespace corio {

namespace detail {
/// A small number naming the calling thread (1, 2, ...), for unsync's owner field.
CORIO_API std::uint32_t unsync_thread_token() noexcept;
CORIO_API [[noreturn]] void throw_unsync_conflict(const void* object, const std::source_location& here, std::uint32_t here_thread,
                                        const char* holder_file, std::uint32_t holder_line, std::uint32_t holder_thread);
}  // namespace detail

/// A non-thread-safe T shared by tasks, with a run-time check that no two threads use it at
/// once (see above). borrow() may be called from any thread; it never waits.
template <class T>
class unsync {
 public:
  /// Exclusive use of the object by this thread while it lives (`*`, `->`, `get()`).
  class [[nodiscard]] borrow_guard {
   public:
    ///@{
    /// The borrowed object.
    T& operator*() const noexcept { return owner_->value_; }
    T* operator->() const noexcept { return &owner_->value_; }
    T& get() const noexcept { return owner_->value_; }
    ///@}

    /// Takes over `o`'s state; `o` is left empty (only destroying or assigning it is allowed).
    borrow_guard(borrow_guard&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    borrow_guard(const borrow_guard&) = delete;
    borrow_guard& operator=(const borrow_guard&) = delete;
    borrow_guard& operator=(borrow_guard&&) = delete;
    ~borrow_guard() {
      if (owner_) owner_->release();
    }

   private:
    friend class unsync;
    explicit borrow_guard(unsync* o) noexcept : owner_(o) {}
    unsync* owner_;
  };

  /// Constructs the T from `args`.
  template <class... Args>
  explicit unsync(Args&&... args) : value_(std::forward<Args>(args)...) {}
  unsync(const unsync&) = delete;
  unsync& operator=(const unsync&) = delete;

  /// Marks the object as used by this thread until the guard ends. Throws corio::usage_error
  /// if another thread is using it right now.
  borrow_guard borrow(std::source_location here = std::source_location::current()) {
    const std::uint64_t me = detail::unsync_thread_token();
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      std::uint64_t next;
      if (s == 0)
        next = (me << 32) | 1;
      else if ((s >> 32) == me)
        next = s + 1;
      else
        detail::throw_unsync_conflict(this, here, static_cast<std::uint32_t>(me),
                                      holder_file_.load(std::memory_order_relaxed),
                                      holder_line_.load(std::memory_order_relaxed), static_cast<std::uint32_t>(s >> 32));
      if (state_.compare_exchange_weak(s, next, std::memory_order_acquire, std::memory_order_relaxed)) break;
    }
    if ((s & count_mask) == 0) {  // the first borrow of this thread records where it was taken
      holder_file_.store(here.file_name(), std::memory_order_relaxed);
      holder_line_.store(here.line(), std::memory_order_relaxed);
    }
    return borrow_guard(this);
  }

  /// True while some thread holds a borrow (a racy snapshot, for tests and assertions).
  bool in_use() const noexcept { return state_.load(std::memory_order_relaxed) != 0; }

 private:
  static constexpr std::uint64_t count_mask = 0xffffffffu;

  void release() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (!state_.compare_exchange_weak(s, (s & count_mask) == 1 ? 0 : s - 1, std::memory_order_release,
                                         std::memory_order_relaxed)) {
    }
  }

  T value_;
  std::atomic<std::uint64_t> state_{0};  // owner thread token << 32 | nested borrows; 0: free
  std::atomic<const char*> holder_file_{""};
  std::atomic<std::uint32_t> holder_line_{0};
};

}  // namespace corio
