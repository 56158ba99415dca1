#pragma once
// The operations a reactor has in flight, by token. A token is (generation << 32) | slot; the
// generation changes each time a slot is freed, so a stale token (a cancel that arrives after
// the operation finished) never finds a newer operation. Owner-thread only. Only add() may
// allocate (and throw std::bad_alloc); remove() never does.

#include <cstdint>
#include <vector>

#include "../../runtime/detail/reactor.hpp"

namespace corio::detail {

class op_table {
 public:
  /// Smallest token ever handed out is 1 << 32: values below are free for the backend's tags.
  std::uint64_t add(io_op* op) {
    std::uint32_t idx;
    if (free_.empty()) {
      // `free_` can hold every slot, so remove() (on a noexcept completion path) never
      // allocates.
      if (free_.capacity() < slots_.size() + 1) free_.reserve(2 * (slots_.size() + 1));
      idx = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back({});
    } else {
      idx = free_.back();
      free_.pop_back();
    }
    slots_[idx].op = op;
    ++live_;
    return (std::uint64_t{slots_[idx].gen} << 32) | idx;
  }
  /// The op behind `token`, or null if it is no longer in flight.
  io_op* find(std::uint64_t token) const noexcept {
    std::uint32_t idx = static_cast<std::uint32_t>(token);
    if (idx >= slots_.size() || slots_[idx].gen != token >> 32) return nullptr;
    return slots_[idx].op;
  }
  void remove(std::uint64_t token) noexcept {
    std::uint32_t idx = static_cast<std::uint32_t>(token);
    slots_[idx].op = nullptr;
    if (++slots_[idx].gen == 0) slots_[idx].gen = 1;
    free_.push_back(idx);
    --live_;
  }
  std::size_t live() const noexcept { return live_; }
  template <class F>
  void for_each(F&& f) const {
    for (const slot& s : slots_)
      if (s.op) f(s.op);
  }

 private:
  struct slot {
    io_op* op = nullptr;
    std::uint32_t gen = 1;
  };
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
};

}  // namespace corio::detail
