// The work-stealing scheduler.
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
//
// Waking: a task woken from inside a poll on this worker goes to the LIFO slot (message
// ping-pong stays on one core); from elsewhere on this worker to the back of its queue; from
// any other thread to the injection queue. Each push that leaves stealable work wakes at most
// one parked worker, and only if no worker is already searching (idle.hpp).
//
// Shutdown, in order: set `shutdown_`; unpark and join every worker thread, each of which
// lets its reactor cancel and reap its operations in flight before it exits; close the injection queue and drop every queued
// pointer (queues hold no references); shut the blocking pool down (queued jobs cancelled,
// running ones waited for: blocking_pool.cpp); close the registry and destroy every remaining frame,
// newest task first (a child spawned by a task is destroyed before the task whose locals it
// may borrow), completing each as cancelled; finally destroy the workers (timer wheels,
// reactors). Destroying frames runs their destructors, which unlink from timers and sync
// primitives that still exist at that point.

#include "scheduler.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <shared_mutex>
#include <cstdio>
#include <limits>

#include "../error.hpp"
#include "../metrics.hpp"
#include "branch_set.hpp"
#include "context.hpp"
#include "frame_alloc.hpp"
#include "task_transitions.hpp"
#include "unhandled.hpp"

namespace corio::detail {

namespace ts = task_state;

namespace {
thread_local thread_context tls_context;

constexpr std::uint32_t maintenance_interval = 61;
constexpr std::uint32_t max_lifo_streak = 3;
constexpr std::size_t inject_batch = 64;
constexpr auto search_spin = std::chrono::microseconds(50);  // step 4 above

// An exception a destructor throws while the frame is destroyed reaches the promise's
// unhandled_exception (see thread_context::destroying) and is reported like a detached
// task's exception.
void destroy_frame(scheduler& s, std::coroutine_handle<> root, std::uint64_t id) noexcept {
  thread_context& c = this_thread();
  bool outer = std::exchange(c.destroying, true);
  try {
    root.destroy();
  } catch (...) {
    if (!c.destroy_exception) c.destroy_exception = std::current_exception();
  }
  c.destroying = outer;
  if (!outer && c.destroy_exception) s.report_unhandled(std::exchange(c.destroy_exception, nullptr), id);
}

// Join slot encoding: a task waker, or a completion_listener* tagged with the low bit.
void notify_join(task_header* t, bool failed) noexcept {
  auto bits = reinterpret_cast<std::uintptr_t>(std::exchange(t->join_waiter, nullptr));
  if (bits & 1u)
    reinterpret_cast<completion_listener*>(bits & ~std::uintptr_t{1})->on_complete(t, failed);
  else if (bits)
    wake(reinterpret_cast<task_header*>(bits));
}
}  // namespace

thread_context& this_thread() noexcept { return tls_context; }

// ---------------------------------------------------------------------------------------------
// task header operations

void task_header::drop_ref() noexcept {
  std::uint64_t prev;
  if (task_transition::drop_ref(state, prev)) free_task_header(this, prev);
}

void free_task_header(task_header* t, std::uint64_t state) noexcept {
  if (state & ts::branch) return branch_free(t);
  std::size_t size = sizeof(task_header);
  if (const result_ops* r = t->result) {
    if (state & ts::output) r->destroy(t->result_slot());
    size = r->alloc_size;
  }
  t->~task_header();
  frame_free(t, size);
}

// Wakes and aborts from threads that are not workers of the task's runtime (plain threads, a
// helper thread, another runtime) may race with that runtime's destruction: the task they wake
// can run, finish, and let block_on return and the runtime go while they are still pushing and
// unparking. So they run under a shared lock on the set of live schedulers, which a runtime
// leaves under the exclusive lock once shutdown has completed every task. The task's state
// transition happens under the lock too: a scheduler address seen live there cannot have been
// recycled by a new runtime in between.
namespace {
std::shared_mutex live_mutex;
std::vector<const scheduler*> live_schedulers;

bool on_worker_of(const scheduler* s) noexcept {
  thread_context& c = this_thread();
  return c.sched == s && c.current_worker;
}

/// Runs `transition` (true: `t` must be queued) and queues `t` on `sched`.
template <class Transition>
void from_anywhere(scheduler* sched, task_header* t, Transition&& transition) {
  if (on_worker_of(sched)) {  // one of its workers is running, so it is alive
    if (transition()) sched->schedule(t, false);
    return;
  }
  std::shared_lock lock(live_mutex);
  bool alive = std::find(live_schedulers.begin(), live_schedulers.end(), sched) != live_schedulers.end();
  // A dead runtime's tasks are all complete, so its transitions never ask for a push.
  if (transition() && alive) sched->schedule(t, false);
}
}  // namespace

void scheduler::register_live() {
  std::unique_lock lock(live_mutex);
  live_schedulers.push_back(this);
}

void scheduler::unregister_live() noexcept {
  std::unique_lock lock(live_mutex);
  live_schedulers.erase(std::remove(live_schedulers.begin(), live_schedulers.end(), this), live_schedulers.end());
}

void wake(task_header* t) noexcept {
  if (t->state.load(std::memory_order_relaxed) & ts::branch) return branch_wake(t);  // fixed at creation
  scheduler* sched = t->sched;
  bool freed = false;
  std::uint64_t last = 0;
  from_anywhere(sched, t, [&] {
    task_transition::wake_result r = task_transition::wake(t->state);
    freed = r.free;
    last = r.state;
    return r.push;
  });
  if (freed) free_task_header(t, last);
}

void abort_task(task_header* t) noexcept {
  scheduler* sched = t->sched;
  from_anywhere(sched, t, [&] { return task_transition::abort(t->state); });
}

// ---------------------------------------------------------------------------------------------
// context helpers used by awaitables

task_header* current_task_or_throw(const char* what) {
  thread_context& c = this_thread();
  if (!c.task)
    throw usage_error(fmt::format("{}: must be awaited inside a task running on a corio runtime", what));
  return c.task;
}

task_header* make_waker(std::coroutine_handle<> h, const char* what) {
  task_header* t = current_task_or_throw(what);
  t->resume = h;
  t->waiting_on.store(what, std::memory_order_relaxed);
  t->add_ref();
  return t;
}

bool coop_consume() noexcept {
  thread_context& c = this_thread();
  if (!c.task) return true;
  if (c.budget <= 0) return false;
  --c.budget;
  return true;
}

std::coroutine_handle<> yield_to_scheduler(std::coroutine_handle<> h, const char* what) {
  thread_context& c = this_thread();
  if (!c.task) throw usage_error(fmt::format("{}: must be awaited inside a task running on a corio runtime", what));
  c.task->resume = h;
  c.yield_requested = true;
  return std::noop_coroutine();
}

std::coroutine_handle<> symmetric_transfer(std::coroutine_handle<> to) noexcept {
  thread_context& c = this_thread();
  if (++c.transfers < max_transfers_per_poll || !c.task) return to;
  c.task->resume = to;
  c.yield_requested = true;
  return std::noop_coroutine();
}

// ---------------------------------------------------------------------------------------------
// worker

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

void worker::push_local(task_header* t, bool lifo) {
  if (lifo) {
    task_header* prev = std::exchange(lifo_, t);
    if (!prev) return;  // the slot was free: this worker runs it next, nothing to steal
    t = prev;
  }
  queue_.push_back(t, [this](task_header* const* ts, std::size_t n) { sched_.inject_.push(ts, n); });
  sched_.notify_parked();
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
    now = sched_.now();
    n += fire_own_timers(sched_.tick_of(*now));
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
  if (searching_ && !sched_.paused() && reactor_->no_io_in_flight()) {  // step 4 at the top
    const auto until = std::chrono::steady_clock::now() + search_spin;
    do {
      if (!sched_.inject_.empty() || has_local_work()) return;
      sched_yield();
    } while (std::chrono::steady_clock::now() < until);
  }
  idle& id = sched_.idle_;
  bool last_searcher = id.transition_to_parked(index_, searching_);
  searching_ = false;
  // Work published before we were on the sleeper list may have found nobody to wake.
  if (last_searcher || !sched_.inject_.empty()) {
    bool work = !sched_.inject_.empty();
    for (auto& w : sched_.workers_) work = work || !w->queue_.empty();
    if (work) sched_.notify_parked();
  }
  counters::bump(stats.parks);
  while (!sched_.is_shutdown() && !done.load(std::memory_order_acquire)) {
    std::optional<std::chrono::nanoseconds> timeout;
    if (sched_.paused()) {
      if (sched_.auto_advance(*this)) return;  // timers fired into our queue; we count as awake
    } else if (auto tick = own_timer_hint()) {
      if (!now) now = sched_.now();
      auto left = sched_.tick_time(*tick) - *now;
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
    if (due) now = sched_.now();
    const std::uint64_t now_tick = due ? sched_.tick_of(*now) : 0;
    bool have_due = due && *due <= now_tick;
    if (!id.is_parked(index_)) {
      searching_ = true;  // a notifier took us off the list and counted us as searching
      if (have_due) fire_own_timers(now_tick);
      return;
    }
    if (have_due || has_local_work()) {
      if (!id.unpark_self(index_)) searching_ = true;
      if (have_due) fire_own_timers(now_tick);
      return;
    }
  }
  if (!id.unpark_self(index_)) searching_ = true;
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
  if (t->root.done()) {
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
  destroy_frame(sched_, std::exchange(t->root, {}), t->id);
  sched_.finish_cancelled(t);
}

// ---------------------------------------------------------------------------------------------
// scheduler

namespace {
runtime_config resolved(runtime_config cfg) {
  if (cfg.current_thread)
    cfg.workers = 1;
  else if (cfg.workers == 0)
    cfg.workers = std::max(1u, std::thread::hardware_concurrency());
  return cfg;
}
}  // namespace

scheduler::scheduler(runtime_config cfg)
    : cfg_(resolved(std::move(cfg))),
      backend_(cfg_.backend ? *cfg_.backend : default_backend()),
      start_(std::chrono::steady_clock::now()),
      idle_(cfg_.workers) {
  const std::uint32_t n = cfg_.workers;
  paused_.store(cfg_.start_paused, std::memory_order_relaxed);
  workers_.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<worker>(*this, i));
  start_watchdog();  // before register_live: nothing to undo if it throws
  register_live();
  if (cfg_.current_thread) return;
  threads_.reserve(n);
  try {
    for (std::uint32_t i = 0; i < n; ++i) {
      threads_.emplace_back([this, i] {
        std::string name = cfg_.thread_name.size() > 11 ? cfg_.thread_name.substr(0, 11) : cfg_.thread_name;
        name += fmt::format("-{}", i);
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
        workers_[i]->run(never_done_);
      });
    }
  } catch (...) {
    shutdown();
    throw;
  }
}

scheduler::~scheduler() { shutdown(); }

task_registry::~task_registry() {
  for (task_header** c : chunks_) delete[] c;
}

void task_registry::grow() {
  chunks_.reserve(chunks_.size() + 1);  // so the push cannot throw and lose the new chunk
  chunks_.push_back(new task_header*[chunk_size]);
}

void task_registry::sweep() noexcept {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < size_; ++i) {
    task_header* t = chunks_[i / chunk_size][i % chunk_size];
    if (t->state.load(std::memory_order_acquire) & task_state::complete) {
      t->drop_ref();
    } else {
      chunks_[kept / chunk_size][kept % chunk_size] = t;
      ++kept;
    }
  }
  size_ = kept;
  sweep_at_ = std::max(chunk_size, 2 * kept);
}

std::vector<task_header*> task_registry::take() {
  std::vector<task_header*> out;
  out.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i) out.push_back(chunks_[i / chunk_size][i % chunk_size]);
  size_ = 0;
  return out;
}

std::uint64_t scheduler::next_id(worker* w) noexcept {
  // Lamport clock: greater than the spawning task's id, so children sort after parents.
  task_header* parent = this_thread().task;
  std::uint64_t parent_clock = parent ? parent->id >> 12 : 0;
  if (w) {
    w->clock_ = std::max(w->clock_, parent_clock) + 1;
    return (w->clock_ << 12) | w->index_;
  }
  std::uint64_t c = foreign_clock_.fetch_add(1, std::memory_order_relaxed) + parent_clock;
  return (c << 12) | 0xfff;
}

task_header* scheduler::spawn(std::coroutine_handle<> root, const result_ops* result, completion_listener* listener,
                              std::source_location where) {
  const bool with_handle = result != nullptr;
  const std::size_t header_size = with_handle ? result->alloc_size : sizeof(task_header);
  thread_context& c = this_thread();
  worker* w = c.current_worker && c.sched == this ? c.current_worker : nullptr;
  // What can fail (std::bad_alloc) comes first, while the frame is still ours alone to destroy.
  task_header* t;
  try {
    if (w) w->owned_.reserve_one();
    t = new (frame_alloc(header_size)) task_header;
  } catch (...) {
    root.destroy();
    throw;
  }
  t->result = result;
  t->where = where;
  t->root = root;
  t->resume = root;
  t->sched = this;
  t->id = next_id(w);
  if (t->where.line() == 0 && c.task) t->where = c.task->where;  // a join helper's child
  // References: owner + registry (+ handle).
  std::uint64_t refs = with_handle ? 3 : 2;
  std::uint64_t join_bits = (with_handle ? ts::join_interest : 0) | (listener ? ts::join_waiter : 0);
  if (listener) t->join_waiter = reinterpret_cast<task_header*>(reinterpret_cast<std::uintptr_t>(listener) | 1u);
  // Queued by its owner: `running` from the start (see task_header.hpp), so no waker races.
  t->state.store(ts::running | join_bits | refs * ts::ref_one, std::memory_order_relaxed);

  if (w && !closed_.load(std::memory_order_acquire)) {
    w->owned_.add(t);
    worker::counters::bump(w->stats.spawned);
    w->push_local(t, c.task != nullptr);  // from a task: the LIFO slot, like a wake
    return t;
  }
  bool accepted = false;
  try {
    std::lock_guard lock(foreign_mutex_);
    if (!closed_.load(std::memory_order_acquire)) {
      foreign_owned_.add(t);
      accepted = true;
    }
  } catch (...) {  // the registry could not grow: nobody else knows of t yet
    t->~task_header();
    frame_free(t, header_size);
    root.destroy();
    throw;
  }
  if (!accepted) {  // spawned after shutdown: never runs; its handle reports cancellation
    t->root = {};
    t->state.store(ts::complete | ts::cancelled | ts::released | join_bits | (refs - 1) * ts::ref_one,
                   std::memory_order_release);
    destroy_frame(*this, root, t->id);
    if (listener) notify_join(t, false);
    t->drop_ref();  // the owner's; a detached task is gone now
    return with_handle ? t : nullptr;
  }
  spawned_outside_.fetch_add(1, std::memory_order_relaxed);
  if (inject_.push(t)) notify_parked();  // refused only at shutdown, which then destroys it
  return t;
}

void scheduler::schedule(task_header* t, bool yield) {
  thread_context& c = this_thread();
  if (c.current_worker && c.sched == this && !closed_.load(std::memory_order_relaxed)) {
    c.current_worker->push_local(t, !yield && c.task != nullptr);
    return;
  }
  if (!inject_.push(t)) return;  // shut down: the registry destroys the task
  notify_parked();
}

void scheduler::notify_parked() {
  if (auto w = idle_.worker_to_notify()) workers_[*w]->unpark();
}

void scheduler::complete(task_header* t, std::exception_ptr* exc) {
  // A task with a result slot: the outcome moves there and the frame goes now, before anyone
  // can learn that the task finished (task_header.hpp).
  bool failed;
  if (t->result) {
    t->result->stash(t->root, t->result_slot());
    failed = *t->result->error(t->result_slot()) != nullptr;
    destroy_frame(*this, std::exchange(t->root, {}), t->id);
  } else {
    failed = exc && *exc;  // read now: the frame holding it goes below
  }
  // complete | released (| output, for the handle)
  std::uint64_t ns = task_transition::complete(t->state, t->result != nullptr);
  // Account first: whoever learns of the completion (a joiner, block_on) sees it counted.
  count_completed();
  if (!(ns & ts::join_interest)) {  // detached: nobody will read the outcome
    if (t->result) {
      std::exception_ptr* e = t->result->error(t->result_slot());
      if (failed) report_unhandled(std::exchange(*e, nullptr), t->id);
      t->result->destroy(t->result_slot());
    } else if (failed) {
      report_unhandled(*exc, t->id);
    }
  }
  if (t->root) destroy_frame(*this, std::exchange(t->root, {}), t->id);  // no result slot
  if (ns & ts::join_waiter) notify_join(t, failed);
  t->drop_ref();
}

void scheduler::finish_cancelled(task_header* t) {
  std::uint64_t ns = task_transition::finish_cancelled(t->state);
  count_completed();
  if (ns & ts::join_waiter) notify_join(t, false);
  t->drop_ref();
}

void scheduler::count_completed() noexcept {
  thread_context& c = this_thread();
  if (c.current_worker && c.sched == this)
    worker::counters::bump(c.current_worker->stats.completed);
  else
    completed_outside_.fetch_add(1, std::memory_order_relaxed);
}

void scheduler::report_unhandled(std::exception_ptr e, std::uint64_t id) noexcept {
  try {
    if (cfg_.on_unhandled_exception) {
      cfg_.on_unhandled_exception(e, id);
      return;
    }
    print_unhandled(e, "task", id);
  } catch (...) {
    std::fputs("corio: the unhandled-exception hook threw; the exception is dropped\n", stderr);
  }
}

void scheduler::run_current_thread(const std::atomic<bool>& done) { workers_[0]->run(done); }

void scheduler::shutdown() {
  thread_context& c = this_thread();
  if (c.sched == this && c.current_worker)
    throw usage_error("corio::runtime::shutdown called from one of the runtime's own worker threads");
  std::lock_guard lock(shutdown_mutex_);
  if (closed_.load(std::memory_order_acquire)) return;
  stop_watchdog();
  shutdown_.store(true, std::memory_order_release);
  for (auto& w : workers_) w->unpark();
  for (auto& th : threads_)
    if (th.joinable()) th.join();
  threads_.clear();
  if (cfg_.current_thread) workers_[0]->reactor_->shutdown();  // multi-thread workers did their own
  {
    std::lock_guard flock(foreign_mutex_);  // no foreign spawn is half-registered past here
    closed_.store(true, std::memory_order_release);
  }
  inject_.close();
  for (auto& w : workers_) {
    w->lifo_ = nullptr;
    while (w->queue_.pop()) {
    }
  }
  // Blocking jobs (spawn_blocking): cancel the queued ones, wait for the running ones (their
  // wakes are refused now), before the frames that await them are destroyed.
  shutdown_blocking();
  destroy_remaining();
  unregister_live();  // from here on, wakes from other threads no longer touch this runtime
}

void scheduler::destroy_remaining() {
  std::vector<task_header*> all = foreign_owned_.take();
  for (auto& w : workers_) {
    auto mine = w->owned_.take();
    all.insert(all.end(), mine.begin(), mine.end());
  }
  // Newest first: a child (spawned later, so a greater id) goes before the task whose frame
  // it may borrow from.
  std::sort(all.begin(), all.end(), [](const task_header* a, const task_header* b) { return a->id > b->id; });
  for (task_header* t : all) {
    if (!(t->state.load(std::memory_order_acquire) & ts::complete)) {
      if (cancel_hook* h = std::exchange(t->hook, nullptr)) h->abandon();  // operations are all done
      if (auto root = std::exchange(t->root, {})) destroy_frame(*this, root, t->id);
      finish_cancelled(t);
    }
    t->drop_ref();  // the registry's
  }
}

// ---------------------------------------------------------------------------------------------
// time

std::chrono::steady_clock::time_point scheduler::now() const noexcept {
  if (paused()) return start_ + std::chrono::nanoseconds(virtual_ns_.load(std::memory_order_acquire));
  return std::chrono::steady_clock::now();
}

std::uint64_t scheduler::now_tick() const noexcept { return tick_of(now()); }

std::uint64_t scheduler::tick_of(std::chrono::steady_clock::time_point t) const noexcept {
  // The end of time (reachable only by the paused clock, which saturates there) is at or past
  // every deadline: its tick is deadline_tick(max), rounded up like deadlines are, so a sleep
  // until time_point::max() fires there instead of staying one tick ahead forever (the
  // auto-advance loop would spin on it).
  if (t == std::chrono::steady_clock::time_point::max()) return deadline_tick(t);
  auto d = t - start_;
  if (d.count() <= 0) return 0;
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::uint64_t scheduler::deadline_tick(std::chrono::steady_clock::time_point tp) const noexcept {
  if (tp <= start_) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp - start_).count();  // tp > start_: no overflow
  std::uint64_t u = static_cast<std::uint64_t>(ns);
  return u / 1'000'000 + (u % 1'000'000 != 0);
}

std::chrono::steady_clock::time_point scheduler::tick_time(std::uint64_t tick) const noexcept {
  using namespace std::chrono;
  auto max_ms = duration_cast<milliseconds>(steady_clock::time_point::max() - start_).count();
  if (tick >= static_cast<std::uint64_t>(max_ms)) return steady_clock::time_point::max();
  return start_ + milliseconds(tick);
}

void scheduler::advance(std::chrono::nanoseconds d) {
  if (!paused()) throw usage_error("corio::time::advance: time is not paused (build the runtime with start_paused)");
  if (d.count() < 0) throw std::invalid_argument("corio::time::advance: negative duration");
  std::lock_guard lock(advance_mutex_);
  // Saturates at the end of time (now() == time_point::max()), where auto-advance also stops.
  std::int64_t cur = virtual_ns_.load(std::memory_order_acquire);
  std::int64_t limit = (std::chrono::steady_clock::time_point::max() - start_).count();
  std::int64_t room = std::max<std::int64_t>(0, limit - cur);
  virtual_ns_.store(cur + std::min<std::int64_t>(d.count(), room), std::memory_order_release);
  std::uint64_t now = now_tick();
  for (auto& w : workers_) w->fire_timers(now);
}

bool scheduler::auto_advance(worker& self) {
  // One advancer at a time, and only while every worker is idle. The advancer counts itself
  // awake before letting go of the lock, so a second idle worker cannot jump the clock again
  // while the tasks woken by the first jump are still to run.
  std::lock_guard lock(advance_mutex_);
  if (idle_.num_unparked() != 0 || !inject_.empty()) return false;
  for (;;) {
    std::optional<std::uint64_t> next;
    for (auto& w : workers_)
      if (auto t = w->next_timer_tick()) next = next ? std::min(*next, *t) : *t;
    if (!next) return false;
    auto target = tick_time(*next) - start_;
    std::int64_t target_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(target).count();
    if (target_ns > virtual_ns_.load(std::memory_order_acquire)) virtual_ns_.store(target_ns, std::memory_order_release);
    std::size_t fired = 0;
    std::uint64_t now = now_tick();
    for (auto& w : workers_) fired += w->fire_timers(now);
    if (fired) {
      if (!idle_.unpark_self(self.index())) self.searching_ = true;  // a notifier already woke us
      return true;
    }
  }
}

void scheduler::fill_metrics(runtime_metrics& m) const {
  m.workers = num_workers();
  std::uint64_t spawned = spawned_outside_.load(std::memory_order_relaxed);
  std::uint64_t completed = completed_outside_.load(std::memory_order_relaxed);
  m.per_worker.clear();
  for (auto& w : workers_) {
    worker_metrics wm;
    wm.polls = w->stats.polls.load(std::memory_order_relaxed);
    wm.steals = w->stats.steals.load(std::memory_order_relaxed);
    wm.parks = w->stats.parks.load(std::memory_order_relaxed);
    wm.local_queue_depth = w->queue_.size();
    wm.timers_armed = w->timers_armed.load(std::memory_order_relaxed);
    wm.fiber_resumes = w->stats.fiber_resumes.load(std::memory_order_relaxed);
    wm.fiber_busy_ns = w->stats.fiber_busy_ns.load(std::memory_order_relaxed);
    wm.fiber_long_resumes = w->stats.fiber_long_resumes.load(std::memory_order_relaxed);
    spawned += w->stats.spawned.load(std::memory_order_relaxed);
    completed += w->stats.completed.load(std::memory_order_relaxed);
    m.polls += wm.polls;
    m.steals += wm.steals;
    m.parks += wm.parks;
    m.timers_armed += wm.timers_armed;
    m.fiber_resumes += wm.fiber_resumes;
    m.fiber_busy_ns += wm.fiber_busy_ns;
    m.fiber_long_resumes += wm.fiber_long_resumes;
    m.per_worker.push_back(wm);
  }
  m.tasks_spawned = spawned;
  m.tasks_alive = spawned >= completed ? spawned - completed : 0;
  m.injection_queue_depth = inject_.size();
  m.blocking_threads = blocking_threads();
  std::uint64_t fibers_done = fibers_finished.load(std::memory_order_relaxed);  // first: alive never underflows
  m.fibers_started = fibers_started.load(std::memory_order_relaxed);
  m.fibers_alive = m.fibers_started >= fibers_done ? m.fibers_started - fibers_done : 0;
}

}  // namespace corio::detail
