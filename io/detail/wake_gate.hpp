#pragma once
// Two pieces both reactor backends share.
//
// wake_gate: the parked/notified handshake that lets `unpark` (any thread) write the wake-up
// eventfd only when the worker is, or is about to be, blocked in the kernel:
//   idle -> parked      the worker, just before it blocks (enter() returns false if an unpark
//                       came first: then it must not block)
//   any  -> notified    unpark; writes the eventfd only if it replaced `parked`
//   any  -> idle        the worker, after it wakes (leave())
//
// cancel_inbox: cancellation requests from any thread, queued under a mutex for the owner to
// act on at its next park or poll.

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace corio::detail {

class wake_gate {
 public:
  /// Before blocking: false if an unpark is pending (consumed; do not block).
  bool enter() noexcept {
    if (state_.exchange(parked, std::memory_order_seq_cst) == notified) {
      state_.store(idle, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  /// After blocking.
  void leave() noexcept { state_.store(idle, std::memory_order_seq_cst); }
  /// Any thread: wakes the owner if it is blocked, or makes its next enter() return false.
  void unpark(int event_fd) noexcept {
    if (state_.exchange(notified, std::memory_order_seq_cst) == parked) {
      std::uint64_t one = 1;
      while (::write(event_fd, &one, sizeof one) < 0 && errno == EINTR) {
      }
    }
  }

 private:
  enum : int { idle = 0, parked = 1, notified = 2 };
  std::atomic<int> state_{idle};
};

class cancel_inbox {
 public:
  void post(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    tokens_.push_back(token);
    pending_.store(true, std::memory_order_release);
  }
  /// The owner: everything posted so far (empty without taking the lock when nothing is).
  std::vector<std::uint64_t> take() {
    if (!pending_.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(mutex_);
    pending_.store(false, std::memory_order_relaxed);
    return std::exchange(tokens_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<std::uint64_t> tokens_;
  std::atomic<bool> pending_{false};
};

}  // namespace corio::detail
