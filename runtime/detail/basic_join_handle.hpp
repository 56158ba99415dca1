#pragma once
// detail::basic_join_handle<T, Target>: the one handle template behind corio::join_handle<T>
// (a spawned task) and corio::blocking_handle<T> (a spawn_blocking job). It owns the handle's
// reference to what it joins, awaits it as the joiner of its join slot (join_slot.hpp), and
// aborts, detaches and releases it. The public headers document the semantics, which are the
// same for both; what differs is `Target`, a set of static functions over its pointer:
//
//   pointer                        task_header*, blocking_result<T>*
//   name, what                     "corio::join_handle" (messages), make_waker's label
//   is_complete(p)                 the join slot's `complete`, acquired
//   register_waker(p, w)           the join slot's register: false (w dropped) if complete
//   unregister_waker(p)            the join slot's unregister (the awaiter dies suspended)
//   abort(p), id(p)                request cancellation; the id for diagnostics
//   release(p)                     the handle goes away (detach): drops its reference
//   take(p) -> T                   after completion: the result, or throws (corio::cancelled,
//                                  or the task's or job's exception); called once

#include <coroutine>
#include <cstdint>
#include <utility>

#include "../error.hpp"
#include "context.hpp"
#include "task_header.hpp"

namespace corio::detail {

template <class T, class Target>
class basic_join_handle {
 public:
  using pointer = typename Target::pointer;

  /// An empty handle (valid() false).
  basic_join_handle() noexcept = default;
  /// Takes over the handle's reference to `p`.
  explicit basic_join_handle(pointer p) noexcept : p_(p) {}
  /// Takes over `o`'s reference; `o` is left empty.
  basic_join_handle(basic_join_handle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  /// Detaches what this handle holds (as the destructor does), then takes over `o`'s.
  basic_join_handle& operator=(basic_join_handle&& o) noexcept {
    if (this != &o) {
      detach();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  ~basic_join_handle() { detach(); }

  /// False for a default-constructed, moved-from, detached or already awaited handle.
  bool valid() const noexcept { return p_ != nullptr; }
  /// True once the task or job has finished (returned, thrown, or been cancelled).
  bool is_finished() const noexcept { return p_ && Target::is_complete(p_); }
  /// Requests cancellation (see the public header); a no-op on an empty handle.
  void abort() noexcept {
    if (p_) Target::abort(p_);
  }
  /// Lets it run on unobserved (the same as dropping the handle).
  void detach() noexcept {
    if (p_) Target::release(std::exchange(p_, nullptr));
  }
  /// Its id (unique within its runtime, or its runtime's blocking pool), 0 for an empty handle.
  std::uint64_t id() const noexcept { return p_ ? Target::id(p_) : 0; }

  /// Takes the result of a finished task or job without suspending (used by the join
  /// helpers). Consumes the handle. Precondition: is_finished().
  T take_result() {
    if (!p_) throw_usage_error(Target::name, ": result taken from an empty handle (moved-from or already awaited)");
    struct release {
      basic_join_handle* h;
      ~release() { h->detach(); }
    } guard{this};
    return Target::take(p_);
  }

  /// What `co_await handle` uses: the joiner's side of the join slot.
  struct [[nodiscard]] awaiter {
    basic_join_handle& h_;
    bool registered_ = false;

    bool await_ready() const {
      if (!h_.p_) throw_usage_error("co_await on an empty ", Target::name, " (moved-from, detached or already awaited)");
      return Target::is_complete(h_.p_) && coop_consume();
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) {
      if (Target::is_complete(h_.p_)) return yield_to_scheduler(c, Target::what);
      task_header* w = make_waker(c, Target::what);
      if (Target::register_waker(h_.p_, w)) {
        registered_ = true;
        return std::noop_coroutine();
      }
      return c;  // finished meanwhile
    }
    T await_resume() {
      registered_ = false;
      return h_.take_result();
    }
    ~awaiter() {
      if (registered_) Target::unregister_waker(h_.p_);
    }
  };
  /// Waits for it to finish and resumes with its result, consuming the handle (see the public
  /// header for the exceptions, the resuming thread and cancel safety).
  awaiter operator co_await() & noexcept { return awaiter{*this}; }
  /// As the lvalue overload.
  awaiter operator co_await() && noexcept { return awaiter{*this}; }

 protected:
  pointer p_ = nullptr;
};

}  // namespace corio::detail
