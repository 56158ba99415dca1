#pragma once
// Hierarchical timing wheel: 6 levels of 64 slots, 1 tick (1 ms) resolution at level 0.
//
// Level L has 64 slots, each covering 64^L ticks, so level L spans 64^(L+1) ticks and the whole
// wheel spans 64^6 ticks (about 795 days at 1 ms). An entry lives at the lowest level whose slot
// boundaries separate its deadline from `elapsed()`; when the wheel reaches a slot of level L > 0
// the entries in it are re-inserted (they cascade to lower levels) until they are due.
// A deadline more than 64^6 - 1 ticks ahead is placed as if it were exactly that far ahead (a
// top-level slot) and re-inserted when its slot is reached, so it never wraps or fires early.
// Insert and remove are O(1); `advance` costs O(levels) per occupied slot it reaches plus the
// entries it moves, independent of how many ticks it skips.
//
// Invariant: every entry on level L has a slot start tick T (its placement deadline rounded
// down to a multiple of 64^L) with elapsed() < T <= deadline and T - elapsed() < 64^(L+1), so
// the slot index alone determines T. In particular a level-5 slot whose index equals the
// level's current position is a full rotation ahead, never the current slot.
//
// Not thread-safe: the owner (a worker) serialises access with its own lock.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "export.hpp"

namespace corio::detail {

/// An intrusive wheel entry; lives inside the object that waits (a sleep awaiter, a timeout).
/// The wheel never allocates and never owns entries.
struct timer_entry {
  std::uint64_t deadline = 0;  ///< absolute tick at which the entry is due
  timer_entry* prev = nullptr;
  timer_entry* next = nullptr;
  std::uint8_t level = 0;  ///< set by the wheel while linked
  std::uint8_t slot = 0;   ///< set by the wheel while linked; slot 64 (any level) = the due list
  bool linked = false;     ///< true while the entry is in the wheel
};

class CORIO_TEST_API timer_wheel {
 public:
  static constexpr unsigned levels = 6;
  static constexpr unsigned slots_per_level = 64;

  explicit timer_wheel(std::uint64_t start_tick = 0) noexcept;
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  /// The tick the wheel has advanced to.
  std::uint64_t elapsed() const noexcept { return elapsed_; }

  /// Links `e` (not linked yet, `e->deadline` set). An entry whose deadline is at or before
  /// `elapsed()` goes to the due list and is returned by the next `advance`.
  void insert(timer_entry* e) noexcept;

  /// Unlinks `e` if linked; a no-op otherwise.
  void remove(timer_entry* e) noexcept;

  /// The earliest tick at which `advance` would expire something, or nullopt if the wheel is
  /// empty. Exact for level 0; for higher levels it is the start of the earliest occupied slot
  /// (a lower bound: reaching it may only cascade entries). Returns elapsed() if the due list
  /// is non-empty.
  std::optional<std::uint64_t> next_expiration() const noexcept;

  /// Advances to `now` (the wheel does not move if now <= elapsed(); the due list is still
  /// drained) and unlinks every entry whose deadline is <= now, calling `on_expired(entry*)`
  /// for each. Delivery order is unspecified (not sorted by deadline). The callback sees
  /// elapsed() == max(now, old elapsed()) and may insert or remove entries, including the one
  /// it was given; an entry it inserts with deadline <= elapsed() is delivered by this same
  /// call (so a callback that always re-arms at or before elapsed() never returns).
  /// Returns the number of entries expired.
  template <class F>
  std::size_t advance(std::uint64_t now, F&& on_expired);

  /// Number of linked entries.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  struct list {
    timer_entry* head = nullptr;
    timer_entry* tail = nullptr;
  };

  static constexpr std::uint8_t due_slot = 64;  // timer_entry::slot of entries on due_

  void link(list& l, timer_entry* e) noexcept;
  void unlink(list& l, timer_entry* e) noexcept;
  list& list_of(const timer_entry* e) noexcept;
  // Links `e` (marked linked, counted in size_) on due_ or on the slot chosen from elapsed_.
  void place(timer_entry* e) noexcept;
  // Start tick of slot `s` on `level`: the first such tick after elapsed_ (see invariant).
  std::uint64_t slot_start(unsigned level, unsigned s) const noexcept;
  // Moves the wheel to `now`, putting every entry due at or before `now` on due_ and
  // re-inserting (cascading) the other entries of every slot reached.
  void collect(std::uint64_t now) noexcept;

  std::uint64_t elapsed_;
  std::size_t size_ = 0;
  std::uint64_t occupied_[levels] = {};  // bit s set <=> slots_[l][s] is non-empty
  list slots_[levels][slots_per_level];
  list due_;  // entries due at or before elapsed_, not yet delivered
};

template <class F>
std::size_t timer_wheel::advance(std::uint64_t now, F&& on_expired) {
  collect(now);
  std::size_t n = 0;
  while (timer_entry* e = due_.head) {
    unlink(due_, e);
    e->linked = false;
    --size_;
    ++n;
    on_expired(e);
  }
  return n;
}

}  // namespace corio::detail
