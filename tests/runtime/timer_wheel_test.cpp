#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <vector>

#include "../../runtime/detail/timer_wheel.hpp"

using corio::detail::timer_entry;
using corio::detail::timer_wheel;

namespace {

constexpr std::uint64_t max_tick = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t span = std::uint64_t{1} << 36;  // 64^6 ticks

constexpr std::uint64_t slot_ticks(unsigned level) { return std::uint64_t{1} << (6 * level); }

// Earliest deadline among linked entries of `es`, or max_tick.
std::uint64_t min_linked_deadline(const std::vector<timer_entry>& es) {
  std::uint64_t m = max_tick;
  for (const timer_entry& e : es)
    if (e.linked) m = std::min(m, e.deadline);
  return m;
}

// next_expiration() must be a lower bound that never precedes elapsed() and never exceeds the
// earliest linked deadline (nor, without due entries, falls at or before elapsed()).
void check_next_expiration(const timer_wheel& w, const std::vector<timer_entry>& es) {
  const auto nx = w.next_expiration();
  if (w.empty()) {
    CHECK_FALSE(nx.has_value());
    return;
  }
  REQUIRE(nx.has_value());
  const std::uint64_t earliest = min_linked_deadline(es);
  if (earliest <= w.elapsed()) {
    CHECK(*nx == w.elapsed());
  } else {
    CHECK(*nx > w.elapsed());
    CHECK(*nx <= earliest);
  }
}

// Runs `deadlines` through a wheel started at `start`, advancing to each tick of `stops` in
// turn. Returns, per entry, the `now` of the advance that delivered it (nullopt if never),
// checking each delivery happens exactly once, at the first stop reaching its deadline.
std::vector<std::optional<std::uint64_t>> run_stops(std::uint64_t start,
                                                    const std::vector<std::uint64_t>& deadlines,
                                                    const std::vector<std::uint64_t>& stops) {
  std::vector<timer_entry> es(deadlines.size());
  std::vector<std::optional<std::uint64_t>> fired_at(deadlines.size());
  timer_wheel w(start);
  for (std::size_t i = 0; i < es.size(); ++i) {
    es[i].deadline = deadlines[i];
    w.insert(&es[i]);
  }
  std::uint64_t prev = start;
  bool first = true;
  for (std::uint64_t now : stops) {
    w.advance(now, [&](timer_entry* e) {
      const std::size_t i = static_cast<std::size_t>(e - es.data());
      REQUIRE_FALSE(fired_at[i].has_value());
      fired_at[i] = now;
      CHECK(e->deadline <= now);
      if (!first) CHECK(e->deadline > prev);  // not late: no earlier stop reached it
    });
    prev = std::max(prev, now);
    first = false;
  }
  return fired_at;
}

}  // namespace

TEST_SUITE("timer_wheel") {
  TEST_CASE("empty wheel") {
    timer_wheel w(42);
    CHECK(w.empty());
    CHECK(w.size() == 0);
    CHECK(w.elapsed() == 42);
    CHECK_FALSE(w.next_expiration().has_value());
    CHECK(w.advance(1000, [](timer_entry*) { FAIL("nothing to expire"); }) == 0);
    CHECK(w.elapsed() == 1000);
    CHECK(w.advance(10, [](timer_entry*) {}) == 0);
    CHECK(w.elapsed() == 1000);  // never moves backwards
    CHECK_FALSE(w.next_expiration().has_value());
  }

  TEST_CASE("entries on every level expire at their exact tick") {
    for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{12'345'678'901}}) {
      for (unsigned level = 0; level < timer_wheel::levels; ++level) {
        CAPTURE(start);
        CAPTURE(level);
        timer_wheel w(start);
        timer_entry e;
        e.deadline = start + 3 * slot_ticks(level) + 5;
        w.insert(&e);
        CHECK(e.linked);
        CHECK(w.size() == 1);
        if (start == 0) CHECK(e.level == level);
        const auto nx = w.next_expiration();
        REQUIRE(nx.has_value());
        CHECK(*nx > start);
        CHECK(*nx <= e.deadline);
        if (level == 0) CHECK(*nx == e.deadline);
        int fired = 0;
        auto cb = [&](timer_entry* x) {
          CHECK(x == &e);
          ++fired;
        };
        CHECK(w.advance(e.deadline - 2, cb) == 0);
        CHECK(w.advance(e.deadline - 1, cb) == 0);
        CHECK(e.linked);
        CHECK(w.next_expiration() == e.deadline);  // now on level 0: exact
        CHECK(w.advance(e.deadline, cb) == 1);
        CHECK(fired == 1);
        CHECK_FALSE(e.linked);
        CHECK(w.empty());
        CHECK_FALSE(w.next_expiration().has_value());
      }
    }
  }

  TEST_CASE("driving by next_expiration fires each entry exactly at its deadline") {
    for (unsigned level = 0; level < timer_wheel::levels; ++level) {
      CAPTURE(level);
      timer_wheel w(7);
      timer_entry e;
      e.deadline = 7 + 5 * slot_ticks(level) + 11;
      w.insert(&e);
      int wakeups = 0;
      std::uint64_t fired_at = 0;
      while (!w.empty()) {
        const auto nx = w.next_expiration();
        REQUIRE(nx.has_value());
        CHECK(*nx <= e.deadline);
        w.advance(*nx, [&](timer_entry*) { fired_at = *nx; });
        REQUIRE(++wakeups <= 2 * int(timer_wheel::levels));
      }
      CHECK(fired_at == e.deadline);
    }

    std::mt19937_64 rng(7);
    std::vector<timer_entry> es(2000);
    timer_wheel w(1'000'003);
    for (timer_entry& e : es) {
      e.deadline = w.elapsed() + (rng() >> (1 + rng() % 63));  // every level and beyond the span
      if (rng() % 10 == 0) e.deadline = 1'000'003 + rng() % slot_ticks(4);
      w.insert(&e);
    }
    std::size_t delivered = 0;
    while (min_linked_deadline(es) <= w.elapsed() + slot_ticks(5)) {
      check_next_expiration(w, es);
      const std::uint64_t t = *w.next_expiration();
      delivered += w.advance(t, [&](timer_entry* e) { CHECK(e->deadline == t); });
    }
    CHECK(delivered > 500);
  }

  TEST_CASE("deadline at or before elapsed is due immediately") {
    timer_wheel w(1000);
    timer_entry at, before, zero;
    at.deadline = 1000;
    before.deadline = 999;
    zero.deadline = 0;
    w.insert(&at);
    w.insert(&before);
    w.insert(&zero);
    CHECK(w.size() == 3);
    CHECK(w.next_expiration() == 1000);
    std::vector<timer_entry*> got;
    // The wheel does not move for now < elapsed(), but the due list is still drained.
    CHECK(w.advance(500, [&](timer_entry* e) { got.push_back(e); }) == 3);
    CHECK(w.elapsed() == 1000);
    CHECK(got.size() == 3);
    CHECK(std::count(got.begin(), got.end(), &at) == 1);
    CHECK(std::count(got.begin(), got.end(), &before) == 1);
    CHECK(std::count(got.begin(), got.end(), &zero) == 1);
    CHECK(w.empty());

    at.deadline = 1000;
    w.insert(&at);
    CHECK(w.advance(1000, [](timer_entry*) {}) == 1);
  }

  TEST_CASE("remove") {
    timer_wheel w(0);
    std::vector<timer_entry> es(2 * timer_wheel::levels + 1);
    for (unsigned level = 0; level < timer_wheel::levels; ++level) {
      es[2 * level].deadline = 2 * slot_ticks(level) + level;
      es[2 * level + 1].deadline = 2 * slot_ticks(level) + level;  // same slot
    }
    es.back().deadline = 0;  // due list
    for (timer_entry& e : es) w.insert(&e);
    CHECK(w.size() == es.size());

    timer_entry never;
    w.remove(&never);  // never inserted: no-op
    CHECK_FALSE(never.linked);
    CHECK(w.size() == es.size());

    // Remove one entry of each shared slot (the slot stays occupied) and the due entry.
    for (unsigned level = 0; level < timer_wheel::levels; ++level) w.remove(&es[2 * level + 1]);
    w.remove(&es.back());
    w.remove(&es.back());  // already unlinked: no-op
    CHECK(w.size() == timer_wheel::levels);
    check_next_expiration(w, es);

    std::vector<int> fired(es.size());
    auto cb = [&](timer_entry* e) { ++fired[static_cast<std::size_t>(e - es.data())]; };
    w.advance(2 * slot_ticks(2) + 2, cb);  // delivers levels 0..2
    for (unsigned level = 0; level < timer_wheel::levels; ++level) w.remove(&es[2 * level]);
    CHECK(w.empty());
    CHECK_FALSE(w.next_expiration().has_value());  // occupancy cleared with the last entry
    w.advance(max_tick, cb);
    for (unsigned level = 0; level < timer_wheel::levels; ++level) {
      CHECK(fired[2 * level] == (level <= 2 ? 1 : 0));
      CHECK(fired[2 * level + 1] == 0);
    }
    CHECK(fired.back() == 0);

    // A removed entry can be inserted again.
    timer_wheel v(0);
    timer_entry e;
    e.deadline = 100'000;
    v.insert(&e);
    v.remove(&e);
    CHECK_FALSE(e.linked);
    e.deadline = 50;
    v.insert(&e);
    CHECK(v.next_expiration() == 50);
    CHECK(v.advance(50, [&](timer_entry* x) { CHECK(x == &e); }) == 1);
  }

  TEST_CASE("next_expiration is a lower bound, exact on level 0") {
    timer_wheel w(64 * 10 + 3);
    std::vector<timer_entry> es(3);
    es[0].deadline = 64 * 10 + 40;  // level 0
    es[1].deadline = 64 * 10 + 20;  // level 0, earliest
    es[2].deadline = 64 * 12 + 1;   // level 1
    for (timer_entry& e : es) w.insert(&e);
    CHECK(w.next_expiration() == 64 * 10 + 20);
    w.remove(&es[1]);
    CHECK(w.next_expiration() == 64 * 10 + 40);
    w.remove(&es[0]);
    CHECK(w.next_expiration() == 64 * 12);  // start of the level-1 slot

    // Randomised: the bound holds after every insert, remove and advance.
    std::mt19937_64 rng(11);
    std::vector<timer_entry> rs(400);
    timer_wheel r(rng() >> 20);
    for (int round = 0; round < 3000; ++round) {
      timer_entry& e = rs[rng() % rs.size()];
      if (e.linked) {
        r.remove(&e);
      } else {
        e.deadline = r.elapsed() + (rng() >> (1 + rng() % 63)) - 3;
        r.insert(&e);
      }
      check_next_expiration(r, rs);
      if (round % 7 == 0) {
        r.advance(r.elapsed() + (rng() >> (20 + rng() % 44)), [](timer_entry*) {});
        check_next_expiration(r, rs);
      }
    }
  }

  TEST_CASE("tick by tick, one jump and random steps expire the same entries") {
    // Start just below a top-level boundary so every level cascades within the run.
    for (std::uint64_t start :
         {std::uint64_t{0}, span - 3000, 5 * span + 17 * slot_ticks(5) - 2500}) {
      CAPTURE(start);
      std::mt19937_64 rng(start + 1);
      const std::uint64_t run = start == 0 ? 300'000 : 8000;
      std::vector<std::uint64_t> deadlines;
      const std::uint64_t lo = start < 5 ? 0 : start - 5;
      for (int i = 0; i < 3000; ++i) deadlines.push_back(lo + rng() % (start + run - lo));
      for (unsigned level = 0; level < timer_wheel::levels; ++level)  // boundary ticks
        for (std::uint64_t k = 1; k < 4; ++k) {
          const std::uint64_t b = (start / slot_ticks(level) + k) * slot_ticks(level);
          if (b <= start + run) deadlines.insert(deadlines.end(), {b - 1, b, b + 1});
        }
      deadlines.push_back(start + run + 1);  // must survive the whole run
      deadlines.push_back(start + span + 5);

      std::vector<std::uint64_t> ticks, jump{start + run}, steps;
      for (std::uint64_t t = start; t <= start + run; ++t) ticks.push_back(t);
      for (std::uint64_t t = start; t < start + run; t += 1 + rng() % 700) steps.push_back(t);
      steps.push_back(start + run);

      const auto by_tick = run_stops(start, deadlines, ticks);
      const auto by_jump = run_stops(start, deadlines, jump);
      const auto by_steps = run_stops(start, deadlines, steps);
      for (std::size_t i = 0; i < deadlines.size(); ++i) {
        CAPTURE(deadlines[i]);
        const bool due = deadlines[i] <= start + run;
        using opt = std::optional<std::uint64_t>;
        CHECK(by_tick[i] == (due ? opt(std::max(deadlines[i], start)) : std::nullopt));
        CHECK(by_jump[i] == (due ? opt(start + run) : std::nullopt));
        CHECK(by_steps[i].has_value() == due);
      }
    }
  }

  TEST_CASE("callback may insert and remove entries") {
    timer_wheel w(0);
    timer_entry a, b, c, d, e;
    a.deadline = 10;
    b.deadline = 20;
    c.deadline = 30;
    w.insert(&a);
    w.insert(&b);
    w.insert(&c);
    std::vector<timer_entry*> got;
    CHECK(w.advance(25, [&](timer_entry* x) {
      got.push_back(x);
      CHECK(w.elapsed() == 25);
      if (x == &a) {
        d.deadline = 5;  // already due: delivered by this advance
        w.insert(&d);
        e.deadline = 125;
        w.insert(&e);
        w.remove(&c);
        a.deadline = 40;  // re-arm the delivered entry itself
        w.insert(&a);
      }
    }) == 3);
    std::sort(got.begin(), got.end());  // delivery order is unspecified
    std::vector<timer_entry*> want{&a, &b, &d};
    std::sort(want.begin(), want.end());
    CHECK(got == want);
    CHECK(w.size() == 2);
    got.clear();
    auto record = [&](timer_entry* x) { got.push_back(x); };
    CHECK(w.advance(39, record) == 0);
    CHECK(w.advance(40, record) == 1);
    CHECK(w.advance(124, record) == 0);
    CHECK(w.advance(125, record) == 1);
    CHECK(got == std::vector<timer_entry*>{&a, &e});
    CHECK_FALSE(c.linked);

    // Removing an entry that is due in the same advance prevents its delivery.
    timer_entry f, g;
    f.deadline = g.deadline = 200;
    w.insert(&f);
    w.insert(&g);
    int n = 0;
    CHECK(w.advance(300, [&](timer_entry* x) {
      ++n;
      w.remove(x == &f ? &g : &f);
    }) == 1);
    CHECK(n == 1);
    CHECK(w.empty());
  }

  TEST_CASE("huge deadlines never fire early") {
    std::vector<std::uint64_t> deadlines = {
        max_tick, max_tick - 1, std::uint64_t{1} << 63, std::uint64_t{1} << 50, span - 1,
        span,     span + 1,     2 * span + 12345};
    std::vector<timer_entry> es(deadlines.size());
    timer_wheel w(0);
    for (std::size_t i = 0; i < es.size(); ++i) {
      es[i].deadline = deadlines[i];
      w.insert(&es[i]);
      CHECK(es[i].level == timer_wheel::levels - 1);
    }
    check_next_expiration(w, es);

    std::mt19937_64 rng(3);
    std::uint64_t prev = 0;
    auto step_to = [&](std::uint64_t now) {
      w.advance(now, [&](timer_entry* e) {
        CHECK(e->deadline <= now);
        CHECK(e->deadline > prev);
      });
      prev = now;
      check_next_expiration(w, es);
    };
    // Irregular steps through the first few spans, then straight at the boundaries.
    while (w.elapsed() < 4 * span) step_to(w.elapsed() + 1 + (rng() >> (24 + rng() % 40)));
    for (std::uint64_t d : {(std::uint64_t{1} << 50) - 1, std::uint64_t{1} << 50,
                            (std::uint64_t{1} << 63) - 1, std::uint64_t{1} << 63, max_tick - 2})
      step_to(d);
    CHECK(w.size() == 2);
    step_to(max_tick - 1);
    CHECK(w.size() == 1);
    CHECK(es[0].linked);
    step_to(max_tick);
    CHECK(w.empty());

    // At the end of time everything is due.
    timer_entry late;
    late.deadline = max_tick;
    w.insert(&late);
    CHECK(w.next_expiration() == max_tick);
    CHECK(w.advance(max_tick, [](timer_entry*) {}) == 1);
  }

  TEST_CASE("far deadlines park in the farthest top-level slot") {
    // Placed as if exactly 64^6 - 1 ticks ahead: one cascade per ~64^6 ticks, not more.
    for (std::uint64_t start : {std::uint64_t{0}, 9 * slot_ticks(5) + 123}) {
      CAPTURE(start);
      timer_wheel w(start);
      timer_entry e;
      e.deadline = start + (std::uint64_t{1} << 40);
      w.insert(&e);
      const std::uint64_t parked = (start + span - 1) & ~(slot_ticks(5) - 1);
      CHECK(w.next_expiration() == parked);
      w.advance(parked, [](timer_entry*) { FAIL("early"); });
      CHECK(w.next_expiration() == parked + span - slot_ticks(5));
    }
  }

  TEST_CASE("top-level slot a full rotation ahead of the current position") {
    // elapsed sits inside top-level slot 5; a deadline just under one span ahead lands in
    // top-level slot 5 again, one rotation later.
    const std::uint64_t start = 5 * slot_ticks(5) + 7;
    timer_wheel w(start);
    timer_entry e;
    e.deadline = start + span - 2;
    w.insert(&e);
    CHECK(e.level == 5);
    CHECK(e.slot == 5);
    CHECK(w.next_expiration() == span + 5 * slot_ticks(5));
    int fired = 0;
    auto cb = [&](timer_entry*) { ++fired; };
    w.advance(start + slot_ticks(5), cb);
    w.advance(span + 5 * slot_ticks(5), cb);  // reaches the slot: cascades only
    CHECK(w.next_expiration() == e.deadline);
    w.advance(e.deadline - 1, cb);
    CHECK(fired == 0);
    w.advance(e.deadline, cb);
    CHECK(fired == 1);
  }

  TEST_CASE("large start tick") {
    const std::uint64_t start = max_tick - 3 * slot_ticks(5) - 12345;
    std::mt19937_64 rng(5);
    std::vector<std::uint64_t> deadlines;
    for (int i = 0; i < 20000; ++i) deadlines.push_back(max_tick - (rng() >> (rng() % 64)));
    deadlines.push_back(max_tick);
    deadlines.push_back(start);
    deadlines.push_back(start - 1);
    std::vector<std::uint64_t> stops;
    for (std::uint64_t t = start; max_tick - t > 100'000;) {
      stops.push_back(t);
      t += std::min((rng() >> (34 + rng() % 30)) + 1, max_tick - 100'000 - t);
    }
    for (std::uint64_t t = max_tick - 100'000; max_tick - t > 2000; t += 1 + rng() % 2000)
      stops.push_back(t);
    stops.push_back(max_tick);
    const auto fired_at = run_stops(start, deadlines, stops);
    for (std::size_t i = 0; i < deadlines.size(); ++i) {
      REQUIRE(fired_at[i].has_value());
      if (deadlines[i] <= start) CHECK(*fired_at[i] == start);
    }

    // Tick by tick across the very end of the tick range.
    timer_wheel w(max_tick - 5000);
    std::vector<timer_entry> es(500);
    for (timer_entry& e : es) {
      e.deadline = max_tick - rng() % 5001;
      w.insert(&e);
    }
    for (std::uint64_t t = max_tick - 5000;; ++t) {
      w.advance(t, [&](timer_entry* e) { CHECK(e->deadline == t); });
      if (t == max_tick) break;
    }
    CHECK(w.empty());
  }

  TEST_CASE("stress: 1M timers over 30 days, random steps") {
    constexpr std::uint64_t days30 = 30ull * 24 * 3600 * 1000;
    constexpr std::size_t n = 1'000'000;
    const std::uint64_t start = 1'700'000'000'123;  // an epoch-like, unaligned tick
    std::mt19937_64 rng(20240601);
    std::vector<timer_entry> es(n);
    std::vector<std::uint8_t> fired(n);
    timer_wheel w(start);

    // Half up front, spread uniformly over the 30 days; the rest armed while running, at
    // distances on every level (capped at the 30-day mark, which piles some on one tick).
    std::size_t armed = 0;
    for (; armed < n / 2; ++armed) {
      es[armed].deadline = start + rng() % days30;
      w.insert(&es[armed]);
    }
    std::size_t delivered = 0;
    std::uint64_t prev = start;
    while ((w.elapsed() < start + days30 || !w.empty()) && w.elapsed() < start + 2 * days30) {
      for (int k = 0; k < 100 && armed < n; ++k, ++armed) {
        const std::uint64_t d = w.elapsed() + 1 + (rng() >> (33 + rng() % 31));  // up to 2^31
        es[armed].deadline = std::min(d, start + days30);
        w.insert(&es[armed]);
      }
      const std::uint64_t r = rng();
      const std::uint64_t step = 1 + (r >> 60 < 8    ? r % 64
                                      : r >> 60 < 13 ? r % 65536
                                      : r >> 60 < 15 ? r % (1u << 20)
                                                     : r % (1u << 23));
      const std::uint64_t now = w.elapsed() + step;
      delivered += w.advance(now, [&](timer_entry* e) {
        const std::size_t i = static_cast<std::size_t>(e - es.data());
        // Counted, then checked once below: per-entry doctest assertions would dominate.
        fired[i] += (e->deadline <= now && e->deadline > prev) ? 1 : 100;
      });
      prev = now;
    }
    CHECK(armed == n);
    CHECK(delivered == n);
    CHECK(std::all_of(fired.begin(), fired.end(), [](std::uint8_t f) { return f == 1; }));
    CHECK_FALSE(w.next_expiration().has_value());
  }
}
