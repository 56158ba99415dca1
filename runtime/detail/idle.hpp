#pragma once
// The idle set: which workers are searching for work and which are parked, so that a newly
// runnable task wakes at most one worker, and none while another is already searching. All the
// park/unpark bookkeeping is here; a worker keeps only its own `searching` flag, set from what
// these calls return.
//
// `state_` packs (unparked << 16) | searching; `sleepers_` (under `mutex_`) lists the parked
// workers. Protocol ("notify vs park", checked by tests/model/idle_model.cpp):
//  - A worker with nothing local becomes "searching" only while fewer than half of the workers
//    are (so idle workers do not burn the cores busy ones need). A searcher that finds work
//    stops searching; if it was the last searcher it wakes another worker, so that a burst of
//    work keeps spreading one worker at a time.
//  - A worker that finds nothing parks (`park`): under the lock it leaves the unparked count
//    (and the searching one) with a seq_cst RMW and joins `sleepers_`, then looks at the queues
//    again before sleeping in its reactor. A notifier publishes its work, then looks at
//    `state_` with a seq_cst load (`worker_to_notify`). The two seq_cst accesses to `state_`
//    order the pair: either the notifier sees the parker gone from the unparked count (and
//    finds it on `sleepers_` under the lock), or the parker's second look sees the work.
//    Either way nobody sleeps on published work: no lost wake-up. (By the letter of the C++
//    model this store-buffering pair also wants the publishing store and the second look
//    seq_cst, or a seq_cst fence on each side; the model's seq_cst accesses are a little
//    stronger than the standard's, see explorer.cpp. In the machine code, the parker's RMW is
//    a full barrier, and so is the injection queue's unlock before a foreign notifier looks;
//    a worker pushing onto its own queue has none, but it runs that task itself if nobody
//    else comes for it.)
//  - `worker_to_notify` picks a sleeper only if nobody is searching and not every worker is
//    awake, and counts it as unparked and searching before it even wakes. A woken worker tells
//    from `is_parked` whether that happened (it then searches) or it woke for work of its own
//    (timers, I/O, a dump), in which case `unpark_self` takes it off the list.
//  - `unpark(w)` takes a given sleeper off the list for work only it can do (its due timers,
//    paused time: runtime/detail/clock.cpp), counted as a notifier's pick.
//
// The atomics and the lock go through the shim (atomic.hpp), so that the model runs this code
// as it is.

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "atomic.hpp"

namespace corio::detail {

class idle {
 public:
  explicit idle(std::uint32_t workers) : workers_(workers), state_(workers << 16) { sleepers_.reserve(workers); }

  // --- notifiers (any thread, after publishing work) ---

  /// A worker to wake for new work, already counted as unparked and searching; or nullopt.
  /// `look`: the order of the first look at the state, taken without the lock. seq_cst is the
  /// protocol; only the model's negative control weakens it.
  std::optional<std::uint32_t> worker_to_notify(std::memory_order look = std::memory_order_seq_cst) {
    if (!should_wake(look)) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (!should_wake(std::memory_order_seq_cst) || sleepers_.empty()) return std::nullopt;
    std::uint32_t w = sleepers_.back();
    sleepers_.pop_back();
    state_.fetch_add((1u << 16) | 1u, std::memory_order_seq_cst);
    return w;
  }

  /// Takes sleeper `w` off the list for work only it can do, counted as unparked and searching
  /// like a notifier's pick. Returns false if it was not parked (it is awake and will see the
  /// work itself).
  bool unpark(std::uint32_t w) {
    std::lock_guard lock(mutex_);
    if (!erase_sleeper(w)) return false;
    state_.fetch_add((1u << 16) | 1u, std::memory_order_seq_cst);
    return true;
  }

  // --- a worker, about itself ---

  /// Returns false if too many workers already search.
  bool transition_to_searching() {
    std::uint32_t s = state_.load(std::memory_order_seq_cst);
    if (2 * searching(s) >= workers_) return false;
    state_.fetch_add(1, std::memory_order_seq_cst);
    return true;
  }

  /// Returns true if the caller was the last searcher.
  bool transition_from_searching() { return searching(state_.fetch_sub(1, std::memory_order_seq_cst)) == 1; }

  /// Parks worker `w` (searching or not), then looks for work published before it was on the
  /// sleeper list, which may have found nobody to wake: `pending(every_queue)` says whether any
  /// is queued, looking at the injection queue only or, if `w` was the last searcher (the
  /// others count on it to find stealable work), at every run queue too. Returns true if work
  /// is pending: the caller must then notify (which may pick `w` itself).
  template <class Pending>
  bool park(std::uint32_t w, bool is_searching, Pending&& pending) {
    bool last_searcher;
    {
      std::lock_guard lock(mutex_);
      std::uint32_t dec = (1u << 16) | (is_searching ? 1u : 0u);
      std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
      sleepers_.push_back(w);
      last_searcher = is_searching && searching(prev) == 1;
    }
    return pending(last_searcher);
  }

  /// Whether `w` is still on the sleeper list: false once a notifier (or `unpark`) took it
  /// off, after which it counts as searching.
  bool is_parked(std::uint32_t w) {
    std::lock_guard lock(mutex_);
    for (std::uint32_t s : sleepers_)
      if (s == w) return true;
    return false;
  }

  /// A parked worker that woke with work of its own (timers, I/O) takes itself off the sleeper
  /// list, counted unparked (not searching). Returns whether it now searches: true if it was no
  /// longer on the list (a notifier unparked it for work and counted it so).
  bool unpark_self(std::uint32_t w) {
    std::lock_guard lock(mutex_);
    if (!erase_sleeper(w)) return true;
    state_.fetch_add(1u << 16, std::memory_order_seq_cst);
    return false;
  }

  std::uint32_t num_unparked() const noexcept { return state_.load(std::memory_order_seq_cst) >> 16; }
  std::uint32_t num_searching() const noexcept { return searching(state_.load(std::memory_order_seq_cst)); }

 private:
  static std::uint32_t searching(std::uint32_t s) noexcept { return s & 0xffffu; }
  bool should_wake(std::memory_order look) const noexcept {
    std::uint32_t s = state_.load(look);
    return searching(s) == 0 && (s >> 16) < workers_;
  }
  bool erase_sleeper(std::uint32_t w) {  // under mutex_
    for (auto it = sleepers_.begin(); it != sleepers_.end(); ++it) {
      if (*it == w) {
        sleepers_.erase(it);
        return true;
      }
    }
    return false;
  }

  const std::uint32_t workers_;
  atomic<std::uint32_t> state_;
  mutex mutex_;
  std::vector<std::uint32_t> sleepers_;
};

}  // namespace corio::detail
