// The model-checking explorer (explorer.hpp): scheduling, the search, and the memory model.
//
// Threads. Model threads are ucontext fibers on the one OS thread that runs the test; only the
// explorer switches between them, at the start of each atomic operation (and at a thread's
// end, and when a thread waits in a spin loop). Which thread runs next is a choice.
//
// Search. A choice point records how many alternatives it had and which one this execution
// took. After an execution ends, the last choice with an untried alternative is bumped and
// everything after it dropped; the next execution replays the prefix (the model is
// deterministic) and continues with first alternatives. A switch away from a thread that could
// go on is a preemption; at most `preemption_bound` per execution (CHESS-style context
// bounding: most concurrency bugs need very few). Waiting and finishing switch for free.
//
// Memory model: a view-based model of C++ release/acquire atomics in the style of the
// "promising" semantics, without promises (so no load buffering), plus vector clocks for
// happens-before:
//  - every location keeps its stores in modification order (mo), which is the order in which
//    the explorer executed them;
//  - every thread has a view: per location, the oldest store in mo it may still read (it has
//    seen, or happens after, that store; coherence), and a vector clock;
//  - a load is a choice among the stores from its view's bound to the newest (newest first);
//    a read-modify-write (and a compare-exchange, also when it fails) reads the newest;
//  - every store carries the view an acquirer of it learns: the storer's view for a release
//    store, the view at the thread's last release fence for a relaxed store, joined with the
//    view of the store an RMW read (release sequences continue through RMWs);
//  - an acquire load joins the store's view into the thread's; a relaxed load stashes it for
//    the thread's next acquire fence;
//  - seq_cst: a global SC view; an SC fence joins it into the thread's per-location bounds and
//    publishes the thread's bounds back to it (the S order of fences is the execution order).
//    SC loads, stores and RMWs do the same around the access. This gives the guarantees of the
//    standard's SC fence rules ([atomics.order]) to fence-based handshakes (Dekker, Chase-Lev),
//    and is somewhat stronger than the standard for SC accesses (it may hide a bug that needs
//    an SC access to be weaker than a fence; it never reports a behaviour C++ forbids). The
//    per-location bounds are merged, not the vector clocks: an SC fence alone orders no plain
//    memory accesses.
// A thread that calls spin_loop_hint() first catches up with the newest store of every
// location (stores become visible eventually, so a spin loop terminates); if it had seen them
// all already, it is not scheduled again until another thread changes the value of some
// location, and then sees that store.
//
// Plain memory (`cell`): each cell remembers its last write (thread, clock) and, per thread,
// its last read; an access not ordered after the conflicting ones by the vector clocks is a
// data race.

#include "explorer.hpp"

#include <fmt/format.h>
#include <ucontext.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace corio::model {

namespace {

constexpr int max_threads = 6;  // the main context and up to five model threads
constexpr std::size_t stack_size = 256 * 1024;
constexpr std::size_t max_steps = 50'000;  // per execution: more is a livelock in the model
constexpr std::size_t trace_events = 160;  // how much of a failing execution to print

using engine::word;

bool is_acquire(std::memory_order o) {
  return o == std::memory_order_acquire || o == std::memory_order_acq_rel || o == std::memory_order_seq_cst ||
         o == std::memory_order_consume;
}
bool is_release(std::memory_order o) {
  return o == std::memory_order_release || o == std::memory_order_acq_rel || o == std::memory_order_seq_cst;
}

struct view {
  std::vector<std::uint32_t> bound;  // per location: index in mo of the oldest readable store
  std::array<std::uint32_t, max_threads> clock{};

  std::uint32_t at(std::uint32_t loc) const { return loc < bound.size() ? bound[loc] : 0; }
  void raise(std::uint32_t loc, std::uint32_t idx) {
    if (loc >= bound.size()) bound.resize(loc + 1, 0);
    bound[loc] = std::max(bound[loc], idx);
  }
  void join_bounds(const view& o) {
    if (o.bound.size() > bound.size()) bound.resize(o.bound.size(), 0);
    for (std::size_t i = 0; i < o.bound.size(); ++i) bound[i] = std::max(bound[i], o.bound[i]);
  }
  void join(const view& o) {
    join_bounds(o);
    for (int i = 0; i < max_threads; ++i) clock[i] = std::max(clock[i], o.clock[i]);
  }
};

struct message {
  word value;
  int thread;
  view sync;  // what an acquirer of this store learns
};

struct location {
  std::vector<message> mo;
  const char* what;
};

struct cell_state {
  int writer = -1;
  std::uint32_t write_clock = 0;
  std::array<std::uint32_t, max_threads> read_clock{};
};

struct thread_rec {
  std::function<void()> fn;
  ucontext_t ctx{};
  bool finished = false;
  bool waiting = false;  // in a spin loop, until another thread changes a value
  view cur;
  view acquire_pending;  // from relaxed loads, for the next acquire fence
  view release_fence;    // at the last release fence, for later relaxed stores
  bool has_release_fence = false;
};

struct choice {
  std::uint32_t n;
  std::uint32_t taken;
};

struct event {
  int thread;
  char op;  // l load, s store, r rmw, c cas ok, f cas failed, F fence, w wait
  std::uint32_t loc;
  word value;
  std::memory_order order;
};

struct execution_aborted {};

struct explorer_state {
  options opt;
  std::vector<choice> trail;
  std::size_t pos = 0;
  std::vector<location> locs;
  std::vector<cell_state> cells;
  std::vector<thread_rec> threads;  // [0] is the main context
  int current = 0;
  int preemptions = 0;
  std::size_t steps = 0;
  view sc;
  bool running_threads = false;
  bool failed = false;
  std::string failure;
  std::vector<event> events;
};

explorer_state* g = nullptr;
std::vector<std::unique_ptr<char[]>> stacks;  // reused across executions

explorer_state& st() {
  if (!g) {
    std::fputs("corio model: a model atomic was used outside model::explore\n", stderr);
    std::abort();
  }
  return *g;
}

std::uint32_t choose(std::uint32_t n) {
  explorer_state& s = st();
  if (n <= 1) return 0;
  if (s.pos < s.trail.size()) {
    choice& c = s.trail[s.pos++];
    if (c.n != n) {  // the replay diverged
      s.failed = true;
      s.failure = "the model is not deterministic (a replayed choice had a different number of alternatives)";
      c.n = n;
      c.taken = std::min(c.taken, n - 1);
    }
    return c.taken;
  }
  s.trail.push_back({n, 0});
  ++s.pos;
  return 0;
}

bool advance_trail(explorer_state& s) {
  while (!s.trail.empty()) {
    choice& c = s.trail.back();
    if (c.taken + 1 < c.n) {
      ++c.taken;
      return true;
    }
    s.trail.pop_back();
  }
  return false;
}

const char* order_name(std::memory_order o) {
  switch (o) {
    case std::memory_order_relaxed: return "relaxed";
    case std::memory_order_consume: return "consume";
    case std::memory_order_acquire: return "acquire";
    case std::memory_order_release: return "release";
    case std::memory_order_acq_rel: return "acq_rel";
    default: return "seq_cst";
  }
}

std::string trace(const explorer_state& s) {
  std::string out = "  trace (thread: operation location(kind) value order):\n";
  std::size_t first = s.events.size() > trace_events ? s.events.size() - trace_events : 0;
  if (first) out += fmt::format("    ... {} earlier operations\n", first);
  for (std::size_t i = first; i < s.events.size(); ++i) {
    const event& e = s.events[i];
    const char* what = e.loc < s.locs.size() ? s.locs[e.loc].what : "";
    const char* op = "?";
    switch (e.op) {
      case 'l': op = "load"; break;
      case 's': op = "store"; break;
      case 'r': op = "rmw"; break;
      case 'c': op = "cas ok"; break;
      case 'f': op = "cas failed, read"; break;
      case 'F': op = "fence"; break;
      case 'w': op = "wait"; break;
      default: break;
    }
    if (e.op == 'F' || e.op == 'w')
      out += fmt::format("    T{}: {} {}\n", e.thread, op, e.op == 'F' ? order_name(e.order) : "");
    else
      out += fmt::format("    T{}: {} #{}({}) {:#x} {}\n", e.thread, op, e.loc, what, e.value, order_name(e.order));
  }
  return out;
}

[[noreturn]] void abort_execution();

void fail(std::string what) {
  explorer_state& s = st();
  if (!s.failed) {
    s.failed = true;
    s.failure = fmt::format("{} (thread {}, after {} operations)\n{}", what, s.current, s.events.size(), trace(s));
  }
  if (s.current != 0) abort_execution();
}

void switch_to(int next) {
  explorer_state& s = st();
  int prev = s.current;
  if (next == prev) return;
  s.current = next;
  swapcontext(&s.threads[prev].ctx, &s.threads[next].ctx);
}

[[noreturn]] void abort_execution() {
  switch_to(0);  // never resumed
  std::abort();
}

bool runnable(const thread_rec& t) { return !t.finished && !t.waiting; }

// A scheduling point of the current model thread. `can_go_on`: the current thread may be
// picked (false when it finished or waits).
void schedule(bool can_go_on) {
  explorer_state& s = st();
  if (!s.running_threads) return;
  int cur = s.current;
  std::array<int, max_threads> cand{};
  std::uint32_t n = 0;
  if (can_go_on) cand[n++] = cur;
  if (!can_go_on || s.preemptions < s.opt.preemption_bound)
    for (int t = 1; t < static_cast<int>(s.threads.size()); ++t)
      if (t != cur && runnable(s.threads[t])) cand[n++] = t;
  if (n == 0) {
    bool all_done = true;
    for (std::size_t t = 1; t < s.threads.size(); ++t) all_done = all_done && s.threads[t].finished;
    if (!all_done) {
      std::string who;
      for (std::size_t t = 1; t < s.threads.size(); ++t)
        if (!s.threads[t].finished) who += fmt::format(" T{}", t);
      fail(fmt::format("deadlock: every unfinished thread waits:{}", who));
    }
    switch_to(0);
    return;
  }
  int next = cand[choose(n)];
  if (can_go_on && next != cur) ++s.preemptions;
  switch_to(next);
}

// Called at the start of every operation; returns the current thread.
thread_rec& begin_op() {
  explorer_state& s = st();
  if (s.current != 0) {
    if (++s.steps > max_steps) fail("an execution ran too long: a livelock in the model?");
    schedule(true);
  }
  return s.threads[s.current];
}

void end_op(thread_rec& t) { ++t.cur.clock[st().current]; }

void sc_before(thread_rec& t, bool sc) {
  if (sc) t.cur.join_bounds(st().sc);
}
void sc_after(thread_rec& t, bool sc) {
  if (sc) st().sc.join_bounds(t.cur);
}

void record(char op, std::uint32_t loc, word v, std::memory_order o) {
  explorer_state& s = st();
  s.events.push_back({s.current, op, loc, v, o});
}

// Appends a store to `loc`; `read` is the store an RMW read (release sequence), or null.
void append_store(thread_rec& t, std::uint32_t loc, word v, std::memory_order o, const message* read) {
  explorer_state& s = st();
  location& l = s.locs[loc];
  word old = l.mo.back().value;
  auto idx = static_cast<std::uint32_t>(l.mo.size());
  t.cur.raise(loc, idx);
  message m{v, s.current, {}};
  if (is_release(o))
    m.sync = t.cur;
  else if (t.has_release_fence)
    m.sync = t.release_fence;
  if (read) m.sync.join(read->sync);
  l.mo.push_back(std::move(m));
  if (old != v)
    for (std::size_t i = 1; i < s.threads.size(); ++i)
      if (static_cast<int>(i) != s.current && s.threads[i].waiting) {
        s.threads[i].waiting = false;
        s.threads[i].cur.raise(loc, idx);
      }
}

void observe(thread_rec& t, std::uint32_t loc, std::uint32_t idx, std::memory_order o) {
  const message& m = st().locs[loc].mo[idx];
  t.cur.raise(loc, idx);
  if (is_acquire(o))
    t.cur.join(m.sync);
  else
    t.acquire_pending.join(m.sync);
}

void thread_entry() {
  explorer_state& s = st();
  int me = s.current;
  try {
    s.threads[me].fn();
  } catch (const execution_aborted&) {
  } catch (const std::exception& e) {
    fail(fmt::format("a model thread threw: {}", e.what()));
  } catch (...) {
    fail("a model thread threw");
  }
  s.threads[me].finished = true;
  schedule(false);
  std::abort();  // a finished thread is never resumed
}

}  // namespace

namespace engine {

std::uint32_t new_location(word initial, const char* what) {
  explorer_state& s = st();
  auto loc = static_cast<std::uint32_t>(s.locs.size());
  s.locs.push_back({{message{initial, s.current, {}}}, what});
  return loc;
}

word load(std::uint32_t loc, std::memory_order o) {
  thread_rec& t = begin_op();
  bool sc = o == std::memory_order_seq_cst;
  sc_before(t, sc);
  const location& l = st().locs[loc];
  auto newest = static_cast<std::uint32_t>(l.mo.size() - 1);
  std::uint32_t oldest = t.cur.at(loc);
  std::uint32_t idx = newest - choose(newest - oldest + 1);
  observe(t, loc, idx, o);
  sc_after(t, sc);
  word v = l.mo[idx].value;
  record('l', loc, v, o);
  end_op(t);
  return v;
}

void store(std::uint32_t loc, word v, std::memory_order o) {
  thread_rec& t = begin_op();
  bool sc = o == std::memory_order_seq_cst;
  sc_before(t, sc);
  append_store(t, loc, v, o, nullptr);
  sc_after(t, sc);
  record('s', loc, v, o);
  end_op(t);
}

word rmw(std::uint32_t loc, rmw_kind k, word operand, std::memory_order o, unsigned width) {
  thread_rec& t = begin_op();
  bool sc = o == std::memory_order_seq_cst;
  sc_before(t, sc);
  location& l = st().locs[loc];
  auto idx = static_cast<std::uint32_t>(l.mo.size() - 1);
  observe(t, loc, idx, o);
  const message read = l.mo[idx];
  word mask = width >= 8 ? ~word{0} : (word{1} << (8 * width)) - 1;
  word v = read.value;
  switch (k) {
    case rmw_kind::exchange: v = operand; break;
    case rmw_kind::add: v = (v + operand) & mask; break;
    case rmw_kind::sub: v = (v - operand) & mask; break;
    case rmw_kind::bit_and: v &= operand; break;
    case rmw_kind::bit_or: v |= operand; break;
  }
  append_store(t, loc, v, o, &read);
  sc_after(t, sc);
  record('r', loc, v, o);
  end_op(t);
  return read.value;
}

bool cas(std::uint32_t loc, word& expected, word desired, std::memory_order success, std::memory_order failure) {
  thread_rec& t = begin_op();
  location& l = st().locs[loc];
  auto idx = static_cast<std::uint32_t>(l.mo.size() - 1);
  const message read = l.mo[idx];
  bool ok = read.value == expected;
  std::memory_order o = ok ? success : failure;
  bool sc = o == std::memory_order_seq_cst;
  sc_before(t, sc);
  observe(t, loc, idx, o);
  if (ok)
    append_store(t, loc, desired, o, &read);
  else
    expected = read.value;
  sc_after(t, sc);
  record(ok ? 'c' : 'f', loc, ok ? desired : read.value, o);
  end_op(t);
  return ok;
}

void fence(std::memory_order o) {
  thread_rec& t = begin_op();
  if (is_acquire(o)) t.cur.join(t.acquire_pending);
  if (o == std::memory_order_seq_cst && !st().opt.weaken_sc_fences) {
    sc_before(t, true);
    sc_after(t, true);
  }
  if (is_release(o)) {
    t.release_fence = t.cur;
    t.has_release_fence = true;
  }
  record('F', 0, 0, o);
  end_op(t);
}

void spin_loop_hint() {
  explorer_state& s = st();
  if (s.current == 0) {
    fail("spin_loop_hint on the main context: it would wait forever");
    return;
  }
  thread_rec& t = s.threads[s.current];
  record('w', 0, 0, std::memory_order_relaxed);
  bool saw_all = true;  // else: catch up with the newest stores and look again
  for (std::uint32_t loc = 0; loc < s.locs.size(); ++loc) {
    auto newest = static_cast<std::uint32_t>(s.locs[loc].mo.size() - 1);
    saw_all = saw_all && t.cur.at(loc) >= newest;
    t.cur.raise(loc, newest);
  }
  if (!saw_all) return;
  t.waiting = true;
  schedule(false);
}

std::uint32_t new_cell() {
  explorer_state& s = st();
  s.cells.emplace_back();
  return static_cast<std::uint32_t>(s.cells.size() - 1);
}

void cell_access(std::uint32_t id, bool write, const char* what) {
  explorer_state& s = st();
  cell_state& c = s.cells[id];
  int me = s.current;
  const auto& clock = s.threads[me].cur.clock;
  if (c.writer >= 0 && c.writer != me && c.write_clock > clock[c.writer])
    fail(fmt::format("data race: {} by T{} and an earlier write by T{}", what, me, c.writer));
  if (write) {
    for (int i = 0; i < max_threads; ++i)
      if (i != me && c.read_clock[i] > clock[i])
        fail(fmt::format("data race: {} by T{} and an earlier read by T{}", what, me, i));
    c.writer = me;
    c.write_clock = clock[me];
    c.read_clock = {};
  } else {
    c.read_clock[me] = clock[me];
  }
}

}  // namespace engine

void thread(std::function<void()> fn) {
  explorer_state& s = st();
  if (s.current != 0 || s.running_threads) {
    fail("model::thread called from a model thread");
    return;
  }
  if (s.threads.size() >= max_threads) {
    fail("too many model threads");
    return;
  }
  auto i = s.threads.size();
  while (stacks.size() < i) stacks.push_back(std::make_unique<char[]>(stack_size));
  thread_rec& t = s.threads.emplace_back();
  t.fn = std::move(fn);
  t.cur = s.threads[0].cur;  // the thread starts after everything main did so far
  t.cur.clock[i] = 1;
  ++s.threads[0].cur.clock[0];
  getcontext(&t.ctx);
  t.ctx.uc_stack.ss_sp = stacks[i - 1].get();
  t.ctx.uc_stack.ss_size = stack_size;
  t.ctx.uc_link = nullptr;
  makecontext(&t.ctx, thread_entry, 0);
}

void run_threads() {
  explorer_state& s = st();
  s.running_threads = true;
  schedule(false);  // from the main context: pick the first thread
  s.running_threads = false;
  s.current = 0;
  if (s.failed) throw execution_aborted{};
  for (std::size_t i = 1; i < s.threads.size(); ++i) s.threads[0].cur.join(s.threads[i].cur);
  ++s.threads[0].cur.clock[0];
}

void check(bool ok, const char* what) {
  if (!ok) fail(fmt::format("check failed: {}", what));
}

int thread_index() { return st().current; }

result explore(const char* name, const options& opt, const std::function<void()>& model) {
  explorer_state s;
  s.opt = opt;
  g = &s;
  result r;
  for (;;) {
    s.pos = 0;
    s.locs.clear();
    s.cells.clear();
    s.threads.clear();
    s.threads.emplace_back();
    s.threads[0].cur.clock[0] = 1;
    s.current = 0;
    s.preemptions = 0;
    s.steps = 0;
    s.sc = {};
    s.running_threads = false;
    s.events.clear();
    try {
      model();
    } catch (const execution_aborted&) {
    }
    ++r.executions;
    if (s.failed) break;
    if (!advance_trail(s)) break;
    if (r.executions >= opt.max_executions) {
      s.failed = true;
      s.failure = fmt::format("more than {} executions: make the model smaller", opt.max_executions);
      break;
    }
  }
  g = nullptr;
  r.failed = s.failed;
  r.failure = std::move(s.failure);
  fmt::print("model {}: {} executions explored (preemption bound {}){}\n", name, r.executions, opt.preemption_bound,
             r.failed ? ", FAILED" : "");
  std::fflush(stdout);
  return r;
}

}  // namespace corio::model
