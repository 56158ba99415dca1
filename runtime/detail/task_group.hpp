#pragma once
// A set of child tasks spawned by one parent task, which the join helpers (join_all, join,
// try_join, select, timeout) and task_set are built on.
//
// Each child is spawned with a completion listener in its join slot, so the group learns of
// every completion (in finish order) without a task waiting on each child. The parent waits
// with `next()` (the next finished child) or `wait_all()`. While it waits, the group is the
// parent's cancel hook: aborting the parent aborts every live child and keeps the parent's
// frame alive until all of them are gone, so children may borrow from the parent's frame.
//
// Policies: on the first failure (an exception) or the first completion of any kind, the
// group can abort the remaining children itself (try_join, select, timeout).
//
// Thread-safety: one mutex guards everything; the parent, the completing workers and the
// cancelling worker all take it. Lifetime: reference-counted by the owner and by each live
// child (released when its completion has been recorded).

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <source_location>
#include <utility>
#include <vector>

#include "../join_handle.hpp"
#include "../task.hpp"
#include "context.hpp"
#include "export.hpp"
#include "spawn.hpp"

namespace corio::detail {


class task_group final : public cancel_hook {
 public:
  enum class policy { wait_all, abort_on_failure, abort_on_first };

  /// Owning pointer (the group is shared with its live children).
  class ptr {
   public:
    ptr() noexcept = default;
    explicit ptr(task_group* g) noexcept : g_(g) {}
    ptr(ptr&& o) noexcept : g_(std::exchange(o.g_, nullptr)) {}
    ptr& operator=(ptr&& o) noexcept {
      if (this != &o) {
        reset();
        g_ = std::exchange(o.g_, nullptr);
      }
      return *this;
    }
    ~ptr() { reset(); }
    task_group* operator->() const noexcept { return g_; }
    task_group& operator*() const noexcept { return *g_; }
    explicit operator bool() const noexcept { return g_ != nullptr; }

   private:
    void reset() noexcept {
      if (g_) std::exchange(g_, nullptr)->drop_ref();
    }
    task_group* g_ = nullptr;
  };

  static ptr create(policy p = policy::wait_all) { return ptr(new task_group(p)); }

  /// Spawns `t` on the current runtime as a child; the handle reads its result once the group
  /// reports it finished.
  template <class T>
  join_handle<T> spawn(task<T> t, std::uint32_t* index_out = nullptr, std::source_location where = {}) {
    if (!t.valid()) throw usage_error("corio: empty task (default-constructed or moved-from) passed to a join helper");
    scheduler& s = current_scheduler("corio join helper");
    child* c;
    {
      std::lock_guard lock(mutex_);
      std::uint32_t idx;
      if (free_.empty()) {
        idx = static_cast<std::uint32_t>(children_.size());
        children_.emplace_back();
      } else {
        idx = free_.back();
        free_.pop_back();
      }
      c = &children_[idx];
      c->group = this;
      c->index = idx;
      c->t = nullptr;
      c->live = true;
      c->abort_pending = false;
      ++live_;
    }
    refs_.fetch_add(1, std::memory_order_relaxed);
    task_header* h;
    try {
      h = spawn_root(s, t.release(), &result_slot_of<T>::ops, c, where);
    } catch (...) {  // std::bad_alloc before the child existed: give its slot back
      {
        std::lock_guard lock(mutex_);
        c->live = false;
        --live_;
        free_.push_back(c->index);
      }
      drop_ref();
      throw;
    }
    {
      std::lock_guard lock(mutex_);
      if (c->live) {
        c->t = h;
        if (abort_requested_ || c->abort_pending) abort_task(h);
      }
    }
    if (index_out) *index_out = c->index;
    return join_handle<T>(h);
  }

  /// Lets a finished child's slot be reused (task_set, after it took the result).
  void recycle(std::uint32_t index) {
    std::lock_guard lock(mutex_);
    free_.push_back(index);
  }

  /// Aborts every child live now (they report in as they finish); children spawned later
  /// are not affected (task_set::abort_all).
  void abort_all() noexcept {
    std::lock_guard lock(mutex_);
    for (child& c : children_) {
      if (!c.live) continue;
      if (c.t)
        abort_task(c.t);
      else
        c.abort_pending = true;  // still inside spawn(): it aborts the task once it has it
    }
  }

  std::uint32_t live() {
    std::lock_guard lock(mutex_);
    return live_;
  }
  std::optional<std::uint32_t> first_finished() {
    std::lock_guard lock(mutex_);
    return first_done_;
  }
  std::optional<std::uint32_t> first_failed() {
    std::lock_guard lock(mutex_);
    return first_failed_;
  }

  /// Awaits the next finished child (finish order); nullopt when none is live or pending.
  /// With `all`, awaits until no child is live and returns nullopt.
  struct [[nodiscard]] wait_awaiter {
    task_group& g_;
    bool all_;
    task_header* self_ = nullptr;

    bool await_ready() {
      std::lock_guard lock(g_.mutex_);
      return g_.satisfied_locked(all_);
    }
    bool await_suspend(std::coroutine_handle<> h) {
      task_header* w = make_waker(h, all_ ? "corio join helper" : "corio::task_set::join_next");
      {
        std::lock_guard lock(g_.mutex_);
        if (!g_.satisfied_locked(all_)) {
          g_.waiter_ = w;
          g_.wait_all_ = all_;
          w->hook = &g_;
          self_ = w;
          return true;
        }
      }
      w->drop_ref();
      return false;
    }
    std::optional<std::uint32_t> await_resume() {
      if (self_) {
        self_->hook = nullptr;
        self_ = nullptr;
      }
      if (all_) return std::nullopt;
      std::lock_guard lock(g_.mutex_);
      if (g_.ready_.empty()) return std::nullopt;
      std::uint32_t i = g_.ready_.front();
      g_.ready_.pop_front();
      return i;
    }
    ~wait_awaiter() {
      if (!self_) return;  // not suspended, or resumed normally
      std::lock_guard lock(g_.mutex_);
      if (g_.waiter_ == self_) std::exchange(g_.waiter_, nullptr)->drop_ref();
    }
  };
  wait_awaiter next() noexcept { return {*this, false}; }
  wait_awaiter wait_all() noexcept { return {*this, true}; }

  // cancel_hook: the parent was aborted while waiting on the group.
  bool cancel(task_header* self) noexcept override {
    std::lock_guard lock(mutex_);
    abort_live_locked();
    if (live_ == 0) return true;
    wait_all_ = true;
    if (!waiter_) {
      self->add_ref();
      waiter_ = self;
    }
    return false;
  }

 private:
  struct child final : completion_listener {
    task_group* group = nullptr;
    std::uint32_t index = 0;
    task_header* t = nullptr;
    bool live = false;
    bool abort_pending = false;  ///< abort_all() came while spawn() had no task_header yet
    void on_complete(task_header*, bool failed) noexcept override { group->child_done(*this, failed); }
  };

  explicit task_group(policy p) : policy_(p) {}

  void drop_ref() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  bool satisfied_locked(bool all) const noexcept { return all ? live_ == 0 : (!ready_.empty() || live_ == 0); }

  /// The group's own aborts (policies, a cancelled parent) are sticky: a child spawned later
  /// is aborted at once.
  void abort_live_locked() noexcept {
    abort_requested_ = true;
    for (child& c : children_)
      if (c.live && c.t) abort_task(c.t);
  }

  void child_done(child& c, bool failed) noexcept {
    task_header* w = nullptr;
    {
      std::lock_guard lock(mutex_);
      c.live = false;
      c.t = nullptr;
      --live_;
      ready_.push_back(c.index);
      if (!first_done_) first_done_ = c.index;
      if (failed && !first_failed_) first_failed_ = c.index;
      if (policy_ == policy::abort_on_first || (policy_ == policy::abort_on_failure && failed)) abort_live_locked();
      if (waiter_ && satisfied_locked(wait_all_)) w = std::exchange(waiter_, nullptr);
    }
    if (w) wake(w);
    drop_ref();
  }

  std::mutex mutex_;
  std::deque<child> children_;
  std::vector<std::uint32_t> free_;
  std::deque<std::uint32_t> ready_;
  std::uint32_t live_ = 0;
  task_header* waiter_ = nullptr;
  bool wait_all_ = false;
  bool abort_requested_ = false;
  std::optional<std::uint32_t> first_done_, first_failed_;
  std::atomic<std::uint32_t> refs_{1};
  const policy policy_;
};

}  // namespace corio::detail
