// Fault injection (fault.hpp). Rules live in a fixed table under one mutex: arming and every
// injection point that finds something armed take it, so a rule's counters are exact even when
// several workers hit the same point. The table never allocates, because the allocation point
// is called from inside operator new. `armed_rules` is written under the mutex and read
// relaxed by the fast paths: a point that misses a rule armed a moment ago behaves as if it
// had run just before.

#include "fault.hpp"

#include <mutex>
#include <stdexcept>

namespace corio::detail::fault {

std::atomic<unsigned> armed_rules{0};

namespace {

constexpr int max_rules = 16;

struct slot {
  bool active = false;
  rule r = rule::result(0);
  std::uint64_t seen = 0;   // matching events so far
  std::uint64_t fired = 0;  // firings so far
};

struct table {
  std::mutex mutex_;
  slot slots_[max_rules];
};

table& rules() {
  static table t;
  return t;
}

/// Called whenever a rule fires: a place for a debugger's breakpoint
/// (`break corio::detail::fault::(anonymous namespace)::firing`).
[[gnu::noinline]] void firing(point where) noexcept { asm volatile("" : : "r"(where)); }

/// Counts one event at `where` (of `kind`, if it has one) against every matching rule; returns
/// the first rule that fires, or null. Under the table's mutex.
slot* fire(table& t, point where, std::optional<io_kind> kind) noexcept {
  slot* hit = nullptr;
  std::thread::id self = std::this_thread::get_id();
  for (slot& s : t.slots_) {
    if (!s.active || s.r.where_ != where) continue;
    if (s.r.kind_ && kind && *s.r.kind_ != *kind) continue;
    if (s.r.thread_ != std::thread::id{} && s.r.thread_ != self) continue;
    std::uint64_t n = s.seen++;
    if (hit || n < s.r.skip_ || s.fired >= s.r.times_) continue;
    if ((n - s.r.skip_) % s.r.every_ != 0) continue;
    ++s.fired;
    hit = &s;
    firing(where);
  }
  return hit;
}

}  // namespace

int arm(const rule& r) {
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  for (int i = 0; i < max_rules; ++i) {
    slot& s = t.slots_[i];
    if (s.active) continue;
    s = slot{true, r, 0, 0};
    armed_rules.fetch_add(1, std::memory_order_relaxed);
    return i;
  }
  throw std::length_error("corio::detail::fault::arm: too many rules armed");
}

void disarm(int id) noexcept {
  if (id < 0 || id >= max_rules) return;
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  if (!t.slots_[id].active) return;
  t.slots_[id].active = false;
  armed_rules.fetch_sub(1, std::memory_order_relaxed);
}

void disarm_all() noexcept {
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  for (slot& s : t.slots_) s.active = false;
  armed_rules.store(0, std::memory_order_relaxed);
}

std::uint64_t fired(int id) noexcept {
  if (id < 0 || id >= max_rules) return 0;
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  return t.slots_[id].fired;
}

std::uint64_t seen(int id) noexcept {
  if (id < 0 || id >= max_rules) return 0;
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  return t.slots_[id].seen;
}

bool forge_result_slow(io_kind kind, int* res) noexcept {
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  if (slot* s = fire(t, point::result, kind)) {
    *res = s->r.value_;
    return true;
  }
  return false;
}

std::size_t cap_length_slow(io_kind kind, std::size_t len) noexcept {
  switch (kind) {
    case io_kind::read:
    case io_kind::write:
    case io_kind::recv:
    case io_kind::send:
      break;
    default:
      return len;
  }
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  if (slot* s = fire(t, point::short_transfer, kind)) {
    std::size_t cap = s->r.value_ > 0 ? static_cast<std::size_t>(s->r.value_) : 1;
    return len < cap ? len : cap;
  }
  return len;
}

int enter_result_slow() noexcept {
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  slot* s = fire(t, point::enter, std::nullopt);
  return s ? s->r.value_ : 0;
}

bool sq_full_slow() noexcept {
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  return fire(t, point::sq_full, std::nullopt) != nullptr;
}

unsigned ring_entries_slow() noexcept {
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  slot* s = fire(t, point::tiny_cq, std::nullopt);
  return s && s->r.value_ > 0 ? static_cast<unsigned>(s->r.value_) : 0;
}

bool allocation_fails_slow() noexcept {
  table& t = rules();
  std::lock_guard lock(t.mutex_);
  return fire(t, point::alloc, std::nullopt) != nullptr;
}

}  // namespace corio::detail::fault
