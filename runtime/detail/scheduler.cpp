// The work-stealing scheduler: spawning, waking, completion and shutdown. The worker loop is in
// worker.cpp, the idle set in idle.hpp.
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
#include "worker.hpp"

namespace corio::detail {

namespace ts = task_state;

namespace {
thread_local thread_context tls_context;


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

// ---------------------------------------------------------------------------------------------
// task header operations

void task_header::drop_ref() noexcept {
  std::uint64_t prev;
  if (task_transition::drop_ref(state, prev)) free_task_header(this, prev);
}

void free_task_header(task_header* t, std::uint64_t state) noexcept {
  if (state & ts::branch) return branch_free(t);
  if (state & ts::output) t->result->destroy(t->result_slot());
  const std::size_t size = task_header::block_size(t->result);
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

scheduler::scheduler(runtime_config cfg, runtime_services& services)
    : cfg_(resolved(std::move(cfg))),
      services_(services),
      backend_(cfg_.backend ? *cfg_.backend : default_backend()),
      clock_(cfg_.start_paused),
      idle_(cfg_.workers) {
  const std::uint32_t n = cfg_.workers;
  workers_.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<worker>(*this, i));
  services_.start_watchdog(*this);  // before register_live: nothing to undo if it throws
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
  thread_context& c = this_thread();
  worker* w = c.current_worker && c.sched == this ? c.current_worker : nullptr;
  // The header's block is the only thing here that can fail (std::bad_alloc): it comes first,
  // while the frame is still ours alone to destroy. Registering allocates nothing.
  task_header* t;
  try {
    t = new (frame_alloc(task_header::block_size(result))) task_header;
  } catch (...) {
    root.destroy();
    throw;
  }
  ::new (t->after()) std::coroutine_handle<>(root);
  t->result = result;
  t->where = where;
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
  {
    std::lock_guard lock(foreign_mutex_);
    if (!closed_.load(std::memory_order_acquire)) {
      foreign_owned_.add(t);
      accepted = true;
    }
  }
  if (!accepted) {  // spawned after shutdown: never runs; its handle reports cancellation
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

void scheduler::complete(task_header* t, std::exception_ptr* exc) {
  // A task with a result slot: the outcome moves there and the frame goes now, before anyone
  // can learn that the task finished (task_header.hpp).
  bool failed;
  if (t->result) {
    const std::coroutine_handle<> root = t->root_frame();  // the slot is built over it
    t->result->stash(root, t->result_slot());
    failed = *t->result->error(t->result_slot()) != nullptr;
    destroy_frame(*this, root, t->id);
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
  if (!t->result) destroy_frame(*this, t->root_frame(), t->id);  // no result slot: the frame goes now
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
  services_.stop_watchdog();
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
  services_.shutdown_blocking();
  destroy_remaining();
  unregister_live();  // from here on, wakes from other threads no longer touch this runtime
}

void scheduler::destroy_remaining() {
  std::vector<task_header*> all;
  auto collect = [&all](task_registry& r) {
    all.reserve(all.size() + r.size());
    for (task_header* t = r.take(); t;) {
      task_header* next = t->registry_next;
      all.push_back(t);
      t = next;
    }
  };
  collect(foreign_owned_);
  for (auto& w : workers_) collect(w->owned_);
  // Newest first: a child (spawned later, so a greater id) goes before the task whose frame
  // it may borrow from.
  std::sort(all.begin(), all.end(), [](const task_header* a, const task_header* b) { return a->id > b->id; });
  for (task_header* t : all) {
    if (!(t->state.load(std::memory_order_acquire) & ts::complete)) {  // its frame is alive
      if (cancel_hook* h = std::exchange(t->hook, nullptr)) h->abandon();  // operations are all done
      destroy_frame(*this, t->root_frame(), t->id);
      finish_cancelled(t);
    }
    t->drop_ref();  // the registry's
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
  m.blocking_threads = services_.blocking_threads();
  std::uint64_t fibers_done = fibers_finished.load(std::memory_order_relaxed);  // first: alive never underflows
  m.fibers_started = fibers_started.load(std::memory_order_relaxed);
  m.fibers_alive = m.fibers_started >= fibers_done ? m.fibers_started - fibers_done : 0;
}

}  // namespace corio::detail
