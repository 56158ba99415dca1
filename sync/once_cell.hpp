#pragma once
// corio::once_cell<T> — a value initialised once, asynchronously, on first use.
//
//   corio::once_cell<config> cfg;
//   const config& c = co_await cfg.get_or_init([]() -> corio::task<config> { co_return co_await load(); });
//   if (config* p = cfg.get()) ...            // never waits; null until initialised
//
// get_or_init(f): if the cell is empty, the caller runs f (a callable returning T, or a
// corio::task of something convertible to T) and stores its result; callers arriving while it
// runs wait for it. The initialiser runs once at a time, so it runs exactly once if it
// succeeds. If it throws, the exception goes to the caller that ran it, and the next waiter (in
// FIFO order) runs its own f instead; the same happens if the initialising task is cancelled.
//
// Memory ordering: the initialiser's writes (and the value) happen-before every get() or
// get_or_init() that sees the value. Waiting allocates nothing beyond the get_or_init task's
// frame (the waiter node lives in it). The value is destroyed with the cell; the cell must
// outlive every pending get_or_init.

#include <concepts>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "../runtime/task.hpp"
#include "detail/once_core.hpp"

namespace corio {

/// A value initialised once, on first use (see above). Any number of tasks may call
/// get_or_init() at once; get() and set() may be called from any thread.
template <class T>
class once_cell {
 public:
  /// An empty cell.
  once_cell() noexcept = default;
  /// A cell that is already initialised with `v`.
  explicit once_cell(T v) : core_(true), value_(std::move(v)) {}
  once_cell(const once_cell&) = delete;
  once_cell& operator=(const once_cell&) = delete;

  ///@{
  /// The value if initialised, else null. Never waits.
  T* get() noexcept { return core_.ready() ? &*value_ : nullptr; }
  const T* get() const noexcept { return core_.ready() ? &*value_ : nullptr; }
  ///@}
  /// True once a value is stored.
  bool initialized() const noexcept { return core_.ready(); }

  /// Stores `v` if the cell is empty and nobody is initialising it; returns false (and
  /// destroys v) otherwise.
  bool set(T v) {
    if (!core_.try_begin()) return false;
    try {
      value_.emplace(std::move(v));
    } catch (...) {
      core_.fail();
      throw;
    }
    core_.succeed();
    return true;
  }

  /// The value, initialising it with f() first if needed (see above). f is only called by the
  /// caller that initialises. Rethrows what f throws (to the caller that ran it; the next
  /// waiter then runs its own f). Any task on any worker.
  ///
  /// **Cancel safety:** cancel-safe for the cell: a dropped waiter leaves the queue, and a
  /// dropped initialiser (its f abandoned part-way, with whatever f had done) hands the
  /// initialiser's role to the next waiter, so the cell is never left half-initialised.
  template <class F>
  task<T&> get_or_init(F f) {
    if (T* v = get()) co_return *v;
    if (co_await detail::once_core::begin_awaitable(core_)) {
      init_scope scope{&core_};
      using R = std::invoke_result_t<F&>;
      if constexpr (detail::is_task<R>::value)
        value_.emplace(co_await std::invoke(f));
      else
        value_.emplace(std::invoke(f));
      scope.c = nullptr;
      core_.succeed();
    }
    co_return *value_;
  }

 private:
  // Hands the initialiser's role on if f throws or the task is cancelled.
  struct init_scope {
    detail::once_core* c;
    ~init_scope() {
      if (c) c->fail();
    }
  };

  detail::once_core core_;
  std::optional<T> value_;
};

}  // namespace corio
