#pragma once
// The part of corio::select and corio::timeout that does not depend on the result types: it
// runs the ready branches of a branch_set inside the calling task, parks the task when none is
// ready, arms the deadline of a timeout, and cancels the losers (see branch_set.hpp for the
// waker protocol).
//
// Life of a select (all on the caller's task; never two branches at once):
//   1. every branch is ready at first: each is resumed once, in argument order;
//   2. the first branch whose frame finishes wins; the deadline's bit (timeout) ends the race
//      with no winner; otherwise the task parks until a waker sets a bit and runs those;
//   3. every other branch is cancelled at its suspension point: its cancel hook (an I/O
//      operation the kernel still owns) is asked first, and the task waits, parked, for each
//      hook that must wait; then its frame is destroyed;
//   4. the caller takes the winner's outcome, then the winner's frame goes.
//
// A branch is a frame (a task, or an awaitable wrapped in a task by as_task) or, for corio's
// own awaitables that opt in (branch_slot.hpp), the awaiter itself, driven in place: its
// await_suspend runs with the branch as the current task (so its waker and cancel hook are the
// branch's), and a wake of such a branch means it has completed. No frame is made for it.
// While the task is in the select, the select is the task's cancel hook: an abort runs step 3
// for every branch (the winner included) before the frame of the task may go.

#include <coroutine>
#include <cstdint>

#include "branch_set.hpp"
#include "export.hpp"
#include "spawn.hpp"

namespace corio::detail {

/// One branch as handed to the driver: a frame (a task, or an awaitable wrapped in one), or a
/// direct awaiter (`ops` and `awaiter` set; see branch_slot.hpp).
struct branch_spec {
  std::coroutine_handle<> frame;
  const direct_ops* ops = nullptr;
  void* awaiter = nullptr;
};

class CORIO_API branch_driver final : public cancel_hook, timer_node {
 public:
  /// Installs itself as the current task's cancel hook (usage_error naming `what` outside a
  /// task). Takes the branches: `specs[i]` becomes branch i (started lazily, in order). If it
  /// throws, it has destroyed every frame and direct awaiter given.
  branch_driver(const char* what, const branch_spec* specs, std::uint32_t n);
  ~branch_driver();
  branch_driver(const branch_driver&) = delete;
  branch_driver& operator=(const branch_driver&) = delete;

  /// Timeout only: the deadline's bit is set (at once if it has passed) when `deadline` comes.
  void arm(std::chrono::steady_clock::time_point deadline);
  /// The same when the caller knows whether `deadline` had passed (saves a clock read).
  void arm(std::chrono::steady_clock::time_point deadline, bool passed);

  /// One step: run the ready branches. True when the race is over (a winner or the deadline).
  bool step();
  /// True while losers are still being cancelled (call after the race, until false).
  bool cancel_losers();

  /// Suspends the task until a bit is set (or yields it, if a branch asked to yield).
  struct [[nodiscard]] park_op {
    branch_driver& d;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}
  };
  park_op park() noexcept { return {*this}; }

  /// The winner (valid after step() returned true), or -1 when the deadline fired first.
  int winner() const noexcept { return winner_; }
  /// The winner's frame.
  std::coroutine_handle<> frame(std::uint32_t i) noexcept { return set_->at(i).root; }
  /// Direct branch i, finished: runs `take` (which calls the awaiter's await_resume) with the
  /// branch as the current task, rethrowing what its start threw instead if it threw.
  template <class F>
  decltype(auto) take_direct(std::uint32_t i, F&& take) {
    branch_header& b = set_->at(i);
    if (b.error) std::rethrow_exception(b.error);
    current_branch_scope scope(b);
    return take();
  }
  /// Ends the select: destroys the remaining frames, disarms, uninstalls the hook.
  void finish() noexcept;

 private:
  bool cancel(task_header* self) noexcept override;
  void abandon() noexcept override;
  static void on_fire(timer_node* n) noexcept;

  /// Makes `b` the current task for its lifetime.
  struct current_branch_scope {
    explicit current_branch_scope(task_header& b) noexcept;
    ~current_branch_scope();
    task_header* outer;
  };
  static bool finished(const branch_header& b) noexcept { return b.direct ? b.done : b.root.done(); }
  void run(branch_header& b);
  void run_direct(branch_header& b);
  void destroy(branch_header& b) noexcept;
  bool cancel_step(bool all) noexcept;
  void disarm() noexcept;

  const char* what_;
  task_header* parent_;
  branch_set* set_ = nullptr;
  worker* armed_on_ = nullptr;
  int winner_ = -1;
  bool yield_ = false;
};

}  // namespace corio::detail
