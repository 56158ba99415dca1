#pragma once
// Which workers are searching for work and which are parked, so that a newly runnable task
// wakes at most one worker, and none while another is already searching.
//
// `state_` packs (unparked << 16) | searching. Protocol:
//  - A worker with nothing local becomes "searching" only while fewer than half of the workers
//    are (so idle workers do not burn the cores busy ones need). A searcher that finds work
//    stops searching; if it was the last searcher it wakes another worker, so that a burst of
//    work keeps spreading one worker at a time.
//  - A worker that finds nothing parks: it leaves the unparked count (and the searching count)
//    and puts itself on `sleepers_` under the lock, then re-checks every queue before sleeping
//    in its reactor. Whoever publishes work and then calls `worker_to_notify` either sees that
//    parker on `sleepers_` or the parker sees the work on its re-check: no lost wake-up.
//  - `worker_to_notify` picks a sleeper only if nobody is searching and not every worker is
//    awake, and counts it as unparked and searching before it even wakes.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace corio::detail {

class idle {
 public:
  explicit idle(std::uint32_t workers) : workers_(workers), state_(workers << 16) { sleepers_.reserve(workers); }

  /// A worker to wake for new work, already counted as unparked and searching; or nullopt.
  std::optional<std::uint32_t> worker_to_notify() {
    if (!should_wake()) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (!should_wake() || sleepers_.empty()) return std::nullopt;
    std::uint32_t w = sleepers_.back();
    sleepers_.pop_back();
    state_.fetch_add((1u << 16) | 1u, std::memory_order_seq_cst);
    return w;
  }

  /// Returns false if too many workers already search.
  bool transition_to_searching() {
    std::uint32_t s = state_.load(std::memory_order_seq_cst);
    if (2 * searching(s) >= workers_) return false;
    state_.fetch_add(1, std::memory_order_seq_cst);
    return true;
  }

  /// Returns true if the caller was the last searcher.
  bool transition_from_searching() { return searching(state_.fetch_sub(1, std::memory_order_seq_cst)) == 1; }

  /// Parks worker `w`. Returns true if it was the last searcher (the caller must then re-check
  /// all queues and wake someone if work is left).
  bool transition_to_parked(std::uint32_t w, bool is_searching) {
    std::lock_guard lock(mutex_);
    std::uint32_t dec = (1u << 16) | (is_searching ? 1u : 0u);
    std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
    sleepers_.push_back(w);
    return is_searching && searching(prev) == 1;
  }

  /// A parked worker that woke with work of its own (timers, I/O) takes itself off the sleeper
  /// list. Returns false if it was not on it (someone already unparked it for work).
  bool unpark_self(std::uint32_t w) {
    std::lock_guard lock(mutex_);
    for (auto it = sleepers_.begin(); it != sleepers_.end(); ++it) {
      if (*it == w) {
        sleepers_.erase(it);
        state_.fetch_add(1u << 16, std::memory_order_seq_cst);
        return true;
      }
    }
    return false;
  }

  bool is_parked(std::uint32_t w) {
    std::lock_guard lock(mutex_);
    for (std::uint32_t s : sleepers_)
      if (s == w) return true;
    return false;
  }

  std::uint32_t num_unparked() const noexcept { return state_.load(std::memory_order_seq_cst) >> 16; }
  std::uint32_t num_searching() const noexcept { return searching(state_.load(std::memory_order_seq_cst)); }

 private:
  static std::uint32_t searching(std::uint32_t s) noexcept { return s & 0xffffu; }
  bool should_wake() const noexcept {
    std::uint32_t s = state_.load(std::memory_order_seq_cst);
    return searching(s) == 0 && (s >> 16) < workers_;
  }

  const std::uint32_t workers_;
  std::atomic<std::uint32_t> state_;
  std::mutex mutex_;
  std::vector<std::uint32_t> sleepers_;
};

}  // namespace corio::detail
