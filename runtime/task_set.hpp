#pragma once
// corio::task_set<T> — a dynamic set of spawned tasks, joined as they finish (Tokio's JoinSet).
//
//   corio::task_set<int> set;
//   for (int i = 0; i < n; ++i) set.spawn(work(i));
//   while (auto r = co_await set.join_next()) use(*r);   // finish order
//
// join_next() returns the next finished task's result, rethrows its exception (corio::cancelled
// for an aborted one), or returns an empty optional when the set is empty. Destroying the set
// aborts every task still in it. A task_set belongs to one task at a time: do not call it
// from two tasks at once, nor move it while a join_next is pending.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <source_location>
#include <vector>

#include "detail/await_traits.hpp"
#include "detail/task_group.hpp"
#include "join.hpp"
#include "task.hpp"

namespace corio {

/// A dynamic set of spawned tasks joined as they finish (see above). Move-only; one task at a
/// time uses it.
template <class T>
class task_set {
 public:
  /// An empty set.
  task_set() : g_(detail::task_group::create()) {}
  /// Takes over the other object's state; that one is left empty (destroy or assign it only).
  task_set(task_set&&) noexcept = default;
  /// Aborts the tasks this set holds, then takes over `o`'s.
  task_set& operator=(task_set&& o) noexcept {
    if (this != &o) {
      abort_all();
      g_ = std::move(o.g_);
      handles_ = std::move(o.handles_);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  /// Aborts every task still in the set; it cannot wait for them to unwind (co_await
  /// shutdown() first if they borrow from the owner).
  ~task_set() { abort_all(); }

  /// Spawns `t` on the current runtime into the set (`where`: for diagnostics).
  void spawn(task<T> t, std::source_location where = std::source_location::current()) {
    std::uint32_t idx = 0;
    join_handle<T> h = g_->spawn(std::move(t), &idx, where);
    if (idx >= handles_.size()) handles_.resize(idx + 1);
    handles_[idx] = std::move(h);
    ++size_;
  }

  /// Awaits the next task to finish (see above): its result, its exception rethrown
  /// (corio::cancelled for an aborted one), or an empty optional when the set is empty. Only
  /// the task that owns the set may call it.
  ///
  /// **Cancel safety:** not cancel-safe. While it waits, the set is the awaiting task's cancel
  /// hook: dropping the await (the task aborted, a lost select, a timeout) aborts every task in
  /// the set and waits for them to unwind. No finished result is lost before that, but the
  /// set's tasks are gone. Do not race join_next() against other events in a select.
  task<std::optional<detail::stored_t<T>>> join_next() {
    if (size_ == 0) co_return std::nullopt;
    std::optional<std::uint32_t> idx = co_await g_->next();
    if (!idx) co_return std::nullopt;
    join_handle<T> h = std::move(handles_[*idx]);
    g_->recycle(*idx);
    --size_;
    co_return detail::take_stored(h);
  }

  /// Aborts every task in the set; they still come out of join_next (as corio::cancelled).
  void abort_all() noexcept {
    if (g_) g_->abort_all();
  }

  /// Aborts every task and waits until all are gone; the set is empty afterwards.
  task<void> shutdown() {
    abort_all();
    co_await g_->wait_all();
    for (auto& h : handles_) h.detach();
    handles_.clear();
    size_ = 0;
    g_ = detail::task_group::create();
  }

  /// Tasks spawned and not yet returned by join_next.
  std::size_t size() const noexcept { return size_; }
  /// True if size() is 0.
  bool empty() const noexcept { return size_ == 0; }

 private:
  detail::task_group::ptr g_;
  std::vector<join_handle<T>> handles_;
  std::size_t size_ = 0;
};

}  // namespace corio
