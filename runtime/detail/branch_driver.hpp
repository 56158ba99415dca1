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
// While the task is in the select, the select is the task's cancel hook: an abort runs step 3
// for every branch (the winner included) before the frame of the task may go.

#include <coroutine>
#include <cstdint>

#include "branch_set.hpp"
#include "export.hpp"
#include "scheduler.hpp"

namespace corio::detail {

class CORIO_API branch_driver final : public cancel_hook, timer_node {
 public:
  /// Installs itself as the current task's cancel hook (usage_error naming `what` outside a
  /// task). Takes the frames: `frames[i]` becomes branch i (started lazily, in order).
  branch_driver(const char* what, std::coroutine_handle<>* frames, std::uint32_t n);
  ~branch_driver();
  branch_driver(const branch_driver&) = delete;
  branch_driver& operator=(const branch_driver&) = delete;

  /// Timeout only: the deadline's bit is set (at once if it has passed) when `deadline` comes.
  void arm(std::chrono::steady_clock::time_point deadline);

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
  /// Ends the select: destroys the remaining frames, disarms, uninstalls the hook.
  void finish() noexcept;

 private:
  bool cancel(task_header* self) noexcept override;
  void abandon() noexcept override;
  static void on_fire(timer_node* n) noexcept;

  void run(branch_header& b);
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
