#pragma once
// One branch of a select or timeout as the combinator's frame holds it: a frame, or the
// awaiter itself (driven in place).
//
// A task is its own frame; an arbitrary awaitable is wrapped in a task that awaits it
// (as_task), one coroutine frame per branch. corio's own awaitables avoid that frame: those
// that declare `corio_direct_branch` promise that they wake only through make_waker / wake
// (never by resuming the handle they were given) and that await_suspend returns void, a bool,
// or the handle itself / std::noop_coroutine() (a yield). Their awaiter is moved into the
// slot and branch_driver calls await_suspend on it with the branch as the current task: the
// branch's waker then means "completed" (branch_driver.hpp), and its result is taken with
// await_resume, again with the branch as the current task (an I/O awaitable clears its cancel
// hook there).
//
// Ownership: a slot owns its frame or awaiter until spec() hands it to the driver; the driver
// destroys it (a loser at its suspension point, the winner after its result was taken).

#include <coroutine>
#include <cstdint>
#include <concepts>
#include <cstdlib>
#include <exception>
#include <functional>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "await_traits.hpp"
#include "branch_driver.hpp"

namespace corio::detail {

/// An awaiter that select/timeout may drive in place (see above).
template <class A>
concept direct_branch = requires { typename A::corio_direct_branch; } && std::is_nothrow_move_constructible_v<A> &&
                        std::is_nothrow_destructible_v<A>;

/// A direct branch that can also try to complete without waiting: `corio_try_complete()`
/// returns true when the operation has completed (await_resume then gives its result, no
/// await_suspend in between) and false when it would wait, having changed nothing. select
/// tries such branches first, in argument order, and needs no driver when one completes.
template <class A>
concept try_branch = direct_branch<A> && requires(A& a) {
  { a.corio_try_complete() } -> std::same_as<bool>;
};

/// The result type of awaiting `A` in a branch (a task's value type, or the awaitable's).
template <class A>
using branch_result_t = typename decltype(as_task(std::declval<A>()))::value_type;

/// The promise of a finished branch frame made by as_task with result type T.
template <class T>
promise<T>& branch_promise(std::coroutine_handle<> frame) noexcept {
  return std::coroutine_handle<promise<T>>::from_address(frame.address()).promise();
}

/// A value of type T (T& and void included) as stored_t<T>.
template <class T, class F>
stored_t<T> to_stored(F&& get) {
  if constexpr (std::is_void_v<T>) {
    std::forward<F>(get)();
    return {};
  } else if constexpr (std::is_reference_v<T>) {
    return std::ref(std::forward<F>(get)());
  } else {
    return std::forward<F>(get)();
  }
}

/// A branch made into a frame.
template <class A, bool Direct = direct_branch<A>>
class branch_slot {
 public:
  using result_type = branch_result_t<A>;

  explicit branch_slot(A&& a) : frame_(as_task(std::move(a)).release()) {}
  branch_slot(const branch_slot&) = delete;
  branch_slot& operator=(const branch_slot&) = delete;
  ~branch_slot() {
    if (frame_) frame_.destroy();  // never handed over (a later slot failed to build)
  }

  /// Hands the frame to the driver.
  branch_spec spec() noexcept { return {std::exchange(frame_, {}), nullptr, nullptr}; }

  /// A frame cannot be tried without running it (see try_branch).
  static constexpr bool can_try = false;
  bool try_now() noexcept { return false; }
  result_type result_now() { std::abort(); }

  /// The finished branch's outcome (rethrows its exception).
  result_type result(branch_driver& d, std::uint32_t i) { return branch_promise<result_type>(d.frame(i)).take(); }

 private:
  std::coroutine_handle<> frame_;
};

/// A branch driven in place.
template <class A>
class branch_slot<A, true> {
 public:
  using result_type = decltype(std::declval<A&>().await_resume());

  explicit branch_slot(A&& a) noexcept { ::new (static_cast<void*>(storage_)) A(std::move(a)); }
  branch_slot(const branch_slot&) = delete;
  branch_slot& operator=(const branch_slot&) = delete;
  ~branch_slot() {
    if (!handed_) awaiter().~A();
  }

  /// Hands the awaiter to the driver (it stays here; the driver destroys it).
  branch_spec spec() noexcept {
    handed_ = true;
    return {{}, &ops, storage_};
  }

  /// The finished branch's result: its await_resume (or what its await_suspend threw).
  result_type result(branch_driver& d, std::uint32_t i) {
    return d.take_direct(i, [this]() -> result_type { return awaiter().await_resume(); });
  }

  /// Completes it now if it can (try_branch); the slot keeps the awaiter.
  static constexpr bool can_try = try_branch<A>;
  bool try_now() {
    if constexpr (can_try) return awaiter().corio_try_complete();
    else return false;
  }
  /// The result after try_now() returned true.
  result_type result_now() { return awaiter().await_resume(); }

 private:
  A& awaiter() noexcept { return *std::launder(reinterpret_cast<A*>(storage_)); }

  static bool start(void* p, std::coroutine_handle<> h) {
    A& a = *static_cast<A*>(p);
    if (a.await_ready()) return true;
    using R = decltype(a.await_suspend(h));
    if constexpr (std::is_void_v<R>) {
      a.await_suspend(h);
      return false;
    } else if constexpr (std::is_same_v<R, bool>) {
      return !a.await_suspend(h);
    } else {
      std::coroutine_handle<> next = a.await_suspend(h);
      if (next == h) return true;
      // Anything but "suspended" (noop) breaks the corio_direct_branch promise.
      if (next != std::noop_coroutine()) std::abort();
      return false;
    }
  }
  static void drop(void* p) noexcept { static_cast<A*>(p)->~A(); }
  static constexpr direct_ops ops{&start, &drop};

  alignas(A) unsigned char storage_[sizeof(A)];
  bool handed_ = false;
};

/// select's first step: the leading branches that can be tried (try_branch) are tried in
/// argument order, up to the first one that cannot (a later branch must not win before it
/// ran). Returns the index of the branch that completed, or -1. Each try consumes a unit of
/// cooperative budget; with none left, nothing is tried (the driver yields).
template <class... Slots>
int try_slots(std::tuple<Slots...>& slots) {
  int won = -1;
  if (!std::tuple_element_t<0, std::tuple<Slots...>>::can_try || !coop_consume()) return won;
  bool go = true;  // false once a branch completed or one could not be tried
  auto one = [&](auto& slot, int i) {
    if (!go) return;
    if (!slot.can_try) {
      go = false;
    } else if (slot.try_now()) {
      won = i;
      go = false;
    }
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (one(std::get<I>(slots), static_cast<int>(I)), ...);
  }(std::index_sequence_for<Slots...>{});
  return won;
}

}  // namespace corio::detail
