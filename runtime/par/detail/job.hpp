#pragma once
// Jobs and latches of the fork-join pool.
//
// A job is anything a deque or the injection queue can hold: one function pointer, called
// once, by whichever thread takes the job. `par::join` keeps its second half as a `stack_job`
// in its own frame (no allocation), so a job's lifetime is that of the frame that pushed it;
// the frame never returns before the job has run (the owner pops it back, or waits on its
// latch when a thief took it).
//
// A latch is set once, by the thread that ran the job, and is waited on by one thread: a pool
// worker (which keeps stealing while it waits, see worker::wait_until) or a thread outside the
// pool (which parks). States: 0 unset, 2 unset with the waiter asleep (the setter must unpark
// it), 3 being set, 1 set. The setter exchanges in 3, unparks the waiter if it was asleep, and
// stores 1 as its very last access: the waiter returns only on 1, so neither the latch (in the
// waiter's frame) nor the waiter's parker (thread-local, for threads outside the pool) can be
// gone while the setter still uses them.

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "sync.hpp"

namespace corio::par::detail {

struct job {
  void (*execute)(job*) noexcept;
};

class latch {
 public:
  explicit latch(parker* waiter) noexcept : waiter_(waiter) {}

  bool probe() const noexcept { return state_.load(std::memory_order_acquire) == set_state; }

  void set() noexcept {
    if (state_.exchange(setting_state, std::memory_order_acq_rel) == sleeping_state) waiter_->unpark();
    state_.store(set_state, std::memory_order_release);  // last access
  }

  /// The waiter is about to park: false if the latch is (being) set.
  bool announce_sleep() noexcept {
    std::uint32_t s = unset_state;
    return state_.compare_exchange_strong(s, sleeping_state, std::memory_order_acq_rel) || s == sleeping_state;
  }

  /// Blocks a thread that is not a pool worker until the latch is set.
  void wait_parked() noexcept {
    while (!probe()) {
      if (announce_sleep())
        waiter_->park();
      else
        cpu_relax();  // being set: a few instructions away
    }
  }

 private:
  static constexpr std::uint32_t unset_state = 0, set_state = 1, sleeping_state = 2, setting_state = 3;
  std::atomic<std::uint32_t> state_{unset_state};
  parker* waiter_;
};

/// Storage for a result of type T (a value, a reference, or void).
template <class T>
class result_slot {
 public:
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate,
                                    std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>>;

  template <class F>
  void run(F& f) {
    if constexpr (std::is_void_v<T>) {
      f();
      value_.emplace();
    } else if constexpr (std::is_reference_v<T>) {
      value_.emplace(std::addressof(f()));
    } else {
      value_.emplace(f());
    }
  }
  /// Runs `f`, storing its result or its exception.
  template <class F>
  void run_catching(F& f) noexcept {
    try {
      run(f);
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  bool failed() const noexcept { return error_ != nullptr; }
  std::exception_ptr& error() noexcept { return error_; }
  /// The value for the caller (monostate for void).
  decltype(auto) take() {
    if constexpr (std::is_reference_v<T>)
      return static_cast<T>(**value_);
    else
      return std::move(*value_);
  }

 private:
  // optional-like storage without requiring default construction
  struct holder {
    alignas(stored) unsigned char bytes[sizeof(stored)];
    bool engaged = false;
    template <class... A>
    void emplace(A&&... a) {
      ::new (static_cast<void*>(bytes)) stored(std::forward<A>(a)...);
      engaged = true;
    }
    stored& operator*() noexcept { return *std::launder(reinterpret_cast<stored*>(bytes)); }
    holder() = default;
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
    ~holder() {
      if (engaged) (**this).~stored();
    }
  };
  holder value_;
  std::exception_ptr error_;
};

/// The second half of a join (or any job run by reference from a waiting frame): calls `f`,
/// keeps its result or exception, sets the latch.
template <class F>
struct stack_job : job {
  using result_type = std::invoke_result_t<F&>;

  stack_job(F& f, parker* waiter) noexcept : job{&run}, f_(f), done(waiter) {}

  /// Runs the job on the thread that pushed it (popped back: nobody else saw it run).
  void run_inline() noexcept { result.run_catching(f_); }

  static void run(job* j) noexcept {
    auto* self = static_cast<stack_job*>(j);
    self->result.run_catching(self->f_);
    self->done.set();
  }

  F& f_;
  result_slot<result_type> result;
  latch done;
};

}  // namespace corio::par::detail
