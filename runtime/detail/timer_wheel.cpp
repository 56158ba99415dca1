#include "timer_wheel.hpp"

#include <bit>
#include <cassert>

namespace corio::detail {

namespace {

constexpr unsigned level_bits = 6;  // log2(slots_per_level)
constexpr std::uint64_t slot_mask = 63;
// Farthest placement distance: the whole wheel span minus one tick.
constexpr std::uint64_t max_ahead = (std::uint64_t{1} << (level_bits * timer_wheel::levels)) - 1;

static_assert(timer_wheel::slots_per_level == std::uint64_t{1} << level_bits);

// First slot of `level` in increasing start-tick order: the one after the current position.
// The scan runs position + 1, ..., 63, 0, ..., position; the current position itself can only
// hold top-level entries a full rotation ahead (see the invariant in the header).
unsigned scan_start(std::uint64_t elapsed, unsigned level) noexcept {
  return static_cast<unsigned>(((elapsed >> (level_bits * level)) + 1) & slot_mask);
}

// The occupied slot at scan offset countr_zero(rotated mask) from `first`.
unsigned slot_at(unsigned first, std::uint64_t rotated) noexcept {
  return (first + static_cast<unsigned>(std::countr_zero(rotated))) &
         static_cast<unsigned>(slot_mask);
}

}  // namespace

timer_wheel::timer_wheel(std::uint64_t start_tick) noexcept : elapsed_(start_tick) {}

void timer_wheel::link(list& l, timer_entry* e) noexcept {
  e->next = nullptr;
  e->prev = l.tail;
  if (l.tail)
    l.tail->next = e;
  else
    l.head = e;
  l.tail = e;
}

void timer_wheel::unlink(list& l, timer_entry* e) noexcept {
  if (e->prev)
    e->prev->next = e->next;
  else
    l.head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    l.tail = e->prev;
  e->prev = e->next = nullptr;
}

timer_wheel::list& timer_wheel::list_of(const timer_entry* e) noexcept {
  return e->slot == due_slot ? due_ : slots_[e->level][e->slot];
}

void timer_wheel::place(timer_entry* e) noexcept {
  if (e->deadline <= elapsed_) {
    e->level = 0;
    e->slot = due_slot;
    link(due_, e);
    return;
  }
  // Placement deadline: never more than max_ahead past elapsed_ (no overflow: the clamp only
  // applies when elapsed_ + max_ahead < deadline).
  const std::uint64_t d = e->deadline - elapsed_ > max_ahead ? elapsed_ + max_ahead : e->deadline;
  // Highest 6-bit group in which d and elapsed_ differ; groups above the top level share it.
  unsigned level =
      static_cast<unsigned>(63 - std::countl_zero((elapsed_ ^ d) | slot_mask)) / level_bits;
  if (level >= levels) level = levels - 1;
  const unsigned s = static_cast<unsigned>((d >> (level_bits * level)) & slot_mask);
  e->level = static_cast<std::uint8_t>(level);
  e->slot = static_cast<std::uint8_t>(s);
  link(slots_[level][s], e);
  occupied_[level] |= std::uint64_t{1} << s;
}

std::uint64_t timer_wheel::slot_start(unsigned level, unsigned s) const noexcept {
  const unsigned shift = level_bits * level;
  const std::uint64_t span = std::uint64_t{1} << (shift + level_bits);  // one rotation
  std::uint64_t t = (elapsed_ & ~(span - 1)) + (std::uint64_t{s} << shift);
  // Slots at or before the current position belong to the next rotation. Only computed for
  // occupied slots, whose true start tick fits in 64 bits, so this cannot overflow.
  if (t <= elapsed_) t += span;
  return t;
}

void timer_wheel::insert(timer_entry* e) noexcept {
  assert(!e->linked);
  e->linked = true;
  ++size_;
  place(e);
}

void timer_wheel::remove(timer_entry* e) noexcept {
  if (!e->linked) return;
  list& l = list_of(e);
  unlink(l, e);
  if (e->slot != due_slot && !l.head) occupied_[e->level] &= ~(std::uint64_t{1} << e->slot);
  e->linked = false;
  --size_;
}

std::optional<std::uint64_t> timer_wheel::next_expiration() const noexcept {
  if (due_.head) return elapsed_;
  std::optional<std::uint64_t> best;
  for (unsigned level = 0; level < levels; ++level) {
    const std::uint64_t mask = occupied_[level];
    if (!mask) continue;
    const unsigned first = scan_start(elapsed_, level);
    const std::uint64_t t = slot_start(level, slot_at(first, std::rotr(mask, int(first))));
    if (!best || t < *best) best = t;
  }
  return best;
}

void timer_wheel::collect(std::uint64_t now) noexcept {
  if (now <= elapsed_) return;
  // Detach every slot whose start tick is <= now, on every level, while elapsed_ still
  // defines the slot start ticks. Slots left behind start after now, so they still satisfy
  // the invariant once elapsed_ = now. Each entry moves at most once per collect.
  list reached;
  for (unsigned level = 0; level < levels; ++level) {
    const unsigned first = scan_start(elapsed_, level);
    std::uint64_t rot = std::rotr(occupied_[level], int(first));
    while (rot) {
      const unsigned s = slot_at(first, rot);
      if (slot_start(level, s) > now) break;  // later slots of this level start later still
      list& l = slots_[level][s];
      if (reached.tail) {
        reached.tail->next = l.head;
        l.head->prev = reached.tail;
      } else {
        reached.head = l.head;
      }
      reached.tail = l.tail;
      l = list{};
      occupied_[level] &= ~(std::uint64_t{1} << s);
      rot &= rot - 1;
    }
  }
  elapsed_ = now;
  // Due entries go to due_, the rest cascade to a slot chosen relative to now.
  while (timer_entry* e = reached.head) {
    reached.head = e->next;
    place(e);
  }
}

}  // namespace corio::detail
