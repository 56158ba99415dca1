// A worker and its loop.
//
// Worker loop, one iteration ("tick"):
//   1. every 61 ticks: poll the reactor without waiting and fire due timers, and take work from
//      the injection queue first (so neither I/O nor injected tasks starve behind a busy
//      local queue);
//   2. next task: the LIFO slot (at most 3 in a row), else the local queue, else a batch from
//      the injection queue;
//   3. nothing local: become a searcher (if fewer than half the workers search) and steal
//      half of a random victim's queue, then try the injection queue again;
//   4. still nothing: a searcher whose reactor has no operation in flight first spins for up
//      to 50 µs, calling sched_yield between looks at its own queue and the injection queue
//      (while it searches, a task woken from another thread wakes nobody: no eventfd write,
//      no reactor wake-up on either side); then park in the reactor until the next timer
//      deadline or an unpark. At most half the workers search, so at most half can spin, and
//      the yield hands the core to any thread that wants it. With I/O in flight the worker
//      parks at once, since completions are reaped only by parking (DEFER_TASKRUN rings).
//      Measured on 2 cores (no spin against 50 µs): spawn_blocking 0.29 -> 0.21 s, mpsc
//      0.46 -> 0.23 s, spawn_many 0.175 -> 0.154 s; tcp_echo and the timers unchanged.
//
// Polling a task: notified -> running (or straight to cancellation if `cancelled` is set),
// resume the innermost suspended coroutine, then either complete it (root is done) or
// running -> idle, re-queueing it if it was woken meanwhile or asked to yield.

#include "worker.hpp"

#include <sched.h>

#include <algorithm>

#include "context.hpp"
#include "task_transitions.hpp"

namespace corio::detail {

namespace ts = task_state;

namespace {
constexpr std::uint32_t maintenance_interval = 61;
constexpr std::uint32_t max_lifo_streak = 3;
constexpr std::size_t inject_batch = 64;
constexpr auto search_spin = std::chrono::microseconds(50);  // step 4 above
}  // namespace

worker::worker(scheduler& s, std::uint32_t index)
    : sched_(s), index_(index), rng_(0x9E3779B97F4A7C15ull * (index + 1)), reactor_(make_reactor(s.backend(), !s.config().current_thread)) {}

worker::~worker() = default;

void worker::unpark() noexcept { reactor_->unpark(); }

void worker::arm_timer(timer_node* n) {
  std::lock_guard lock(wheel_mutex_);
  wheel_.insert(n);
  if (n->deadline < next_due_.load(std::memory_order_relaxed)) next_due_.store(n->deadline, std::memory_order_relaxed);
  bump_armed(1);
}

bool worker::disarm_timer(timer_node* n) noexcept {
  std::lock_guard lock(wheel_mutex_);
  if (!n->linked) return false;
  wheel_.remove(n);
  bump_armed(-1);
  return true;
}

std::optional<std::uint64_t> worker::next_timer_tick() {
  std::lock_guard lock(wheel_mutex_);
  return wheel_.next_expiration();
}

std::size_t worker::fire_timers(std::uint64_t now_tick) {
  if (timers_armed.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard lock(wheel_mutex_);
  // Fired under the lock: a node's owner removes it under the same lock, so once that removal
  // returns, the node is no longer being fired.
  std::size_t n = wheel_.advance(now_tick, [](timer_entry* e) {
    auto* node = static_cast<timer_node*>(e);
    node->fire(node);
  });
  bump_armed(-static_cast<std::ptrdiff_t>(n));
  next_due_.store(wheel_.next_expiration().value_or(no_due), std::memory_order_relaxed);
  return n;
}

std::optional<std::uint64_t> worker::own_timer_hint() const noexcept {
  if (timers_armed.load(std::memory_order_relaxed) == 0) return std::nullopt;
  return next_due_.load(std::memory_order_relaxed);
}

std::size_t worker::fire_own_timers(std::uint64_t now_tick) {
  if (timers_armed.load(std::memory_order_relaxed) == 0 || now_tick < next_due_.load(std::memory_order_relaxed)) return 0;
  return fire_timers(now_tick);
}

task_header* worker::take_injected() {
  if (sched_.inject_.empty()) return nullptr;
  std::size_t want = std::min<std::size_t>(sched_.inject_.size() / sched_.num_workers() + 1, inject_batch);
  task_header* batch[inject_batch];
  std::size_t n = sched_.inject_.pop(batch, want);
  if (n == 0) return nullptr;
  for (std::size_t i = 1; i < n; ++i)
    queue_.push_back(batch[i], [this](task_header* const* ts, std::size_t k) { sched_.inject_.push(ts, k); });
  return batch[0];
}

task_header* worker::next_task() {
  if (tick_ % maintenance_interval == 0)
    if (task_header* t = take_injected()) return t;
  if (lifo_) {
    if (lifo_streak_ < max_lifo_streak) {
      ++lifo_streak_;
      return std::exchange(lifo_, nullptr);
    }
    // Too many hand-offs in a row: let the rest of the queue run first.
    queue_.push_back(std::exchange(lifo_, nullptr),
                     [this](task_header* const* ts, std::size_t n) { sched_.inject_.push(ts, n); });
  }
  lifo_streak_ = 0;
  if (task_header* t = queue_.pop()) return t;
  return take_injected();
}

task_header* worker::steal_work() {
  const std::uint32_t n = sched_.num_workers();
  if (n == 1) return nullptr;
  if (!searching_) {
    if (!sched_.idle_.transition_to_searching()) return nullptr;
    searching_ = true;
  }
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  std::uint32_t start = static_cast<std::uint32_t>(rng_ % n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint32_t v = (start + i) % n;
    if (v == index_) continue;
    if (task_header* t = sched_.workers_[v]->queue_.steal_into(queue_)) {
      counters::bump(stats.steals);
      return t;
    }
  }
  return take_injected();
}

void worker::stop_searching() {
  searching_ = false;
  if (sched_.idle_.transition_from_searching()) sched_.notify_parked();
}

bool worker::maintenance(std::optional<std::chrono::steady_clock::time_point>& now) {
  std::size_t n = reactor_->park(std::chrono::nanoseconds::zero());
  if (timers_armed.load(std::memory_order_relaxed) != 0) {  // no clock read without timers
    now = sched_.clock().now();
    n += fire_own_timers(sched_.clock().tick_of(*now));
  }
  return n > 0;
}

void worker::run(const std::atomic<bool>& done) {
  thread_context& c = this_thread();
  c.sched = &sched_;
  c.current_worker = this;
  c.io = reactor_.get();
  if (!attached_) {
    reactor_->attach();
    attached_ = true;
  }
  while (!sched_.is_shutdown() && !done.load(std::memory_order_acquire)) {
    ++tick_;
    if (tick_ % maintenance_interval == 0) {
      std::optional<std::chrono::steady_clock::time_point> now;
      maintenance(now);
    }
    if (dump_wanted_.load(std::memory_order_relaxed)) answer_dump();
    task_header* t = next_task();
    if (!t) t = steal_work();
    if (t) {
      if (searching_) stop_searching();
      poll(t);
      continue;
    }
    park(done);
  }
  if (searching_) stop_searching();
  // A multi-thread worker drives its reactor alone: it also takes it down (step 2 of shutdown).
  if (!sched_.config().current_thread && sched_.is_shutdown()) reactor_->shutdown();
  c.current_worker = nullptr;
  c.io = nullptr;
  c.sched = nullptr;
}

void worker::park(const std::atomic<bool>& done) {
  // The last clock read, reused for the next park timeout (at most the search spin old: the
  // timer would fire that much later, well inside its 1 ms tick).
  std::optional<std::chrono::steady_clock::time_point> now;
  if (maintenance(now) && has_local_work()) return;
  if (searching_ && !sched_.clock().paused() && reactor_->no_io_in_flight()) {  // step 4 at the top
    const auto until = std::chrono::steady_clock::now() + search_spin;
    do {
      if (!sched_.inject_.empty() || has_local_work()) return;
      sched_yield();
    } while (std::chrono::steady_clock::now() < until);
  }
  idle& id = sched_.idle_;
  bool pending = id.park(index_, searching_, [this](bool every_queue) {
    if (!sched_.inject_.empty()) return true;
    if (every_queue)
      for (auto& w : sched_.workers_)
        if (!w->queue_.empty()) return true;
    return false;
  });
  searching_ = false;
  if (pending) sched_.notify_parked();
  counters::bump(stats.parks);
  while (!sched_.is_shutdown() && !done.load(std::memory_order_acquire)) {
    std::optional<std::chrono::nanoseconds> timeout;
    if (sched_.clock().paused()) {
      if (auto searching = sched_.clock().auto_advance(sched_, *this)) {  // our timers fired: we count as awake
        searching_ = *searching;
        return;
      }
    } else if (auto tick = own_timer_hint()) {
      if (!now) now = sched_.clock().now();
      auto left = sched_.clock().tick_time(*tick) - *now;
      timeout = std::max(std::chrono::nanoseconds::zero(), std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    }
    if (!has_local_work()) reactor_->park(timeout);
    if (dump_wanted_.load(std::memory_order_relaxed)) answer_dump();  // a dump woke us
    // Due timers are this worker's work: count ourselves awake before firing them, so the
    // wake-ups they cause go to other workers, not back to us.
    // One clock read serves the due check and the firing. (Only this worker arms its timers,
    // so its own relaxed count is never 0 while one is armed.)
    auto due = own_timer_hint();
    now.reset();
    if (due) now = sched_.clock().now();
    const std::uint64_t now_tick = due ? sched_.clock().tick_of(*now) : 0;
    bool have_due = due && *due <= now_tick;
    if (!id.is_parked(index_)) {
      searching_ = true;  // a notifier took us off the list and counted us as searching
      if (have_due) fire_own_timers(now_tick);
      return;
    }
    if (have_due || has_local_work()) {
      searching_ = id.unpark_self(index_);
      if (have_due) fire_own_timers(now_tick);
      return;
    }
  }
  searching_ = id.unpark_self(index_);
}

void worker::poll(task_header* t) {
  // notified -> running; spawned or yielded tasks are queued `running` already.
  std::uint64_t s = task_transition::begin_poll(t->state);
  if (s & ts::cancelled) {
    cancel(t);
    return;
  }
  thread_context& c = this_thread();
  c.task = t;
  c.budget = coop_budget;
  c.transfers = 0;
  c.yield_requested = false;
  c.root_exception = nullptr;
  if (probing_) probe_begin(t);
  t->resume.resume();
  if (probing_) probe_end();
  c.task = nullptr;
  counters::bump(stats.polls);
  if (t->root_frame().done()) {
    sched_.complete(t, c.root_exception);
    return;
  }
  release_running(t, c.yield_requested);
}

void worker::release_running(task_header* t, bool yielded) {
  // A yielded task was re-queued by itself: it stays `running` (no waker is out), unless
  // aborted. Otherwise `running` goes, and the task is re-queued if it was woken meanwhile.
  switch (task_transition::release_running(t->state, yielded)) {
    case task_transition::after_poll::cancel:
      cancel(t);  // aborted while it ran and nobody queued it: cancel now, still `running`
      return;
    case task_transition::after_poll::requeue:
      push_local(t, false);
      return;
    case task_transition::after_poll::idle:
      return;
  }
}

void worker::park_after_hook(task_header* t) {
  if (task_transition::park_after_hook(t->state)) push_local(t, false);
}

void worker::cancel(task_header* t) {
  if (cancel_hook* h = t->hook) {
    if (!h->cancel(t)) {  // the operation must finish first; its completion wakes us again
      park_after_hook(t);
      return;
    }
    t->hook = nullptr;
  }
  destroy_frame(sched_, t->root_frame(), t->id);
  sched_.finish_cancelled(t);
}

}  // namespace corio::detail
