// The blocking pool (blocking_pool.hpp).
//
// Threads. Created on demand by submit() when no idle thread is waiting and the pool is below
// its maximum, detached, named "<name>". A thread runs queued jobs in FIFO order; when the queue
// is empty it goes idle for up to keep_alive, then retires if still nothing is queued. With
// every thread busy and the maximum reached, jobs wait in the queue (never dropped).
//
// Idle threads and hand-off. Each thread parks on its own futex word (`thread_slot`) rather
// than on a shared condition variable: the pool takes one idle thread off the idle list, puts
// the job in its slot and wakes exactly that thread. glibc's condition variable cost about
// three futex calls per job plus contention on the mutex every woken thread re-took
// (spawn_blocking ran at 1.6x Tokio's time with it). The idle list is a stack: the thread
// idle for the shortest time, with the warmest cache, is woken first, and the ones at the
// bottom are the ones that retire.
//
// One thread on its way at a time (`waking`). A submit hands its job to an idle thread, or
// starts a thread, only if no thread woken or started for work is still on its way; else the
// job just queues. That thread, once it has its job, "checks in": if jobs are queued it
// sends the next one on its way the same way, and so on. A burst of short jobs (a task
// keeping 16 in flight) is then run by a thread or two and costs a wake-up or two instead of
// one per job, while a burst of long jobs still gets a thread per job, each started by the
// one before (like Tokio's one searching worker at a time). No job waits while a thread is
// idle: a thread goes idle only with the queue empty, and a thread that fails to start hands
// what queued meanwhile to any thread that went idle since.
//
// One spinner. The first thread to go idle while no other spins stays off the idle stack for
// `spin_time` (20 µs), looking at its slot and calling sched_yield between looks. It is the
// first one handed a job, with no system call at all. The yield matters on small machines:
// an earlier spinner that only paused (for 50 µs) kept a core from the async workers, and
// spawn_blocking ran 2.7x slower than without it; this one gives the core up at every look.
// Measured on 2 cores, spawn_blocking: 0.27 s with it against 0.34 s without (Tokio 0.35 s).
//
// Thread-creation failure. The job stays queued if some thread exists (it will run it). If the
// pool has no thread left, nothing would ever run the queue: every queued job is taken out,
// the caller's own job goes back to it (submit throws the std::system_error, spawn_blocking
// passes it on) and other stranded jobs complete with that error.
//
// Shutdown (scheduler::shutdown, after the workers have stopped and the run queues are closed,
// before the remaining frames are destroyed): mark the pool shut down (later submits complete
// as cancelled at once), take every queued job out and complete it as cancelled, wake the idle
// threads, then wait until every thread has exited, or until the timeout. Threads still
// running a job after the timeout finish it on their own: they keep the shared state alive
// (std::shared_ptr), and their job's completion wakes a task the runtime no longer runs (the
// wake is dropped) and its result is discarded with the job.
//
// Lifetime of a job: see blocking_job in the header; the pool's reference is dropped by the
// thread that ran (or skipped) it, or by shutdown for queued ones.

#include "blocking_pool.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "affinity.hpp"
#include "futex.hpp"
#include "scheduler.hpp"
#include "task_header.hpp"
#include "unhandled.hpp"

namespace corio::detail {

namespace {
std::atomic<unsigned> failing_creations{0};
std::function<void()>& creation_hook() {
  static std::function<void()> hook;
  return hook;
}
constexpr auto spin_time = std::chrono::microseconds(20);  // one idle thread's spin for the next job
}  // namespace

// ---------------------------------------------------------------------------------------------
// blocking_job

void blocking_job::finish(std::uint64_t extra) noexcept {
  std::uint64_t s = state_.fetch_or(complete | extra, std::memory_order_acq_rel);
  join_slot::wake_joiner(s, join_slot::waker_field{waiter_});
  if (!(s & join_interest) && error_ && on_unhandled_) {  // nobody will see it: report it
    try {
      if (*on_unhandled_) {
        (*on_unhandled_)(error_, id_);
      } else {
        print_unhandled(error_, "blocking job", id_);
      }
    } catch (...) {
      std::fputs("corio: the unhandled-exception hook threw; the exception is dropped\n", stderr);
    }
  }
}

void blocking_job::run() noexcept {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  do {
    if (s & (complete | claimed)) return;  // aborted while queued
  } while (!state_.compare_exchange_weak(s, s | started, std::memory_order_acq_rel, std::memory_order_acquire));
  invoke();
  finish(0);
}

void blocking_job::cancel(std::exception_ptr error) noexcept {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  do {
    if (s & (started | complete | claimed)) return;
  } while (!state_.compare_exchange_weak(s, s | claimed, std::memory_order_acq_rel, std::memory_order_acquire));
  discard();
  if (error) {
    error_ = std::move(error);
    finish(0);
  } else {
    finish(cancelled);
  }
}

bool blocking_job::register_waiter(task_header* w) noexcept {
  return join_slot::register_waker(state_, join_slot::waker_field{waiter_}, w);
}

void blocking_job::unregister_waiter() noexcept {
  join_slot::unregister_waker(state_, join_slot::waker_field{waiter_});
}

void blocking_job::abort() noexcept { cancel(); }

void blocking_job::release_handle() noexcept {
  state_.fetch_and(~join_interest, std::memory_order_acq_rel);  // the join slot's detach
  drop_ref();
}

void blocking_job::check_result() {
  if (state_.load(std::memory_order_acquire) & cancelled)
    throw corio::cancelled(fmt::format(
        "corio: blocking job {} was cancelled before it ran (aborted, or its runtime shut down)", id_));
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

// ---------------------------------------------------------------------------------------------
// blocking_pool

/// One pool thread's parking place. Slots belong to the pool (never freed before it, reused by
/// later threads), so a waker may touch a slot after its thread has moved on: at worst that
/// is a spurious futex wake-up, which every waiter tolerates.
struct blocking_pool::thread_slot {
  static constexpr std::uint32_t spinning = 0, woken = 1, sleeping = 2;
  std::atomic<std::uint32_t> state{spinning};  // futex word; changed under the mutex
  blocking_job* handoff = nullptr;             // the job given with the wake-up (null: shutdown)
  thread_slot* next = nullptr;                 // idle stack / free list link, guarded by the mutex
};

/// What find_thread_for_queue decided, to carry out without the mutex.
struct blocking_pool::wake_action {
  thread_slot* wake = nullptr;  // a sleeping thread given a job: futex_wake it
  bool start = false;           // start a thread (already counted in `threads`)

  /// From a pool thread: a thread that cannot start is no loss (this one serves the queue).
  void carry_out(const std::shared_ptr<shared>& s) noexcept {
    if (wake) futex_wake(wake->state, 1);
    if (start) {
      try {
        start_thread(s);
      } catch (...) {
      }
    }
  }
};

struct blocking_pool::shared {
  explicit shared(blocking_config c) : cfg(std::move(c)) {}

  blocking_config cfg;
  mutable std::mutex m;
  std::condition_variable exit_cv;  // shutdown waits here for the threads to exit
  blocking_job* head = nullptr;     // FIFO queue through blocking_job::next_
  blocking_job* tail = nullptr;
  std::size_t queued = 0;
  thread_slot* spinner = nullptr;     // the one idle thread spinning for the next job, if any
  thread_slot* idle = nullptr;        // LIFO stack of sleeping threads: the warmest is woken first
  thread_slot* free_slots = nullptr;  // slots of retired threads
  std::deque<thread_slot> slots;      // every slot ever made (stable addresses)
  unsigned threads = 0;               // alive, or being started
  bool waking = false;                // a thread woken or started for work has not checked in yet
  bool shut_down = false;
  std::uint64_t next_id = 1;
  std::atomic<std::size_t> threads_now{0};  // `threads`, for metrics without the lock
  std::atomic<std::size_t> queued_now{0};

  void push(blocking_job* j) noexcept {
    j->next_ = nullptr;
    (tail ? tail->next_ : head) = j;
    tail = j;
    queued_now.store(++queued, std::memory_order_relaxed);
  }
  blocking_job* pop() noexcept {
    blocking_job* j = head;
    if (!j) return nullptr;
    head = j->next_;
    if (!head) tail = nullptr;
    queued_now.store(--queued, std::memory_order_relaxed);
    return j;
  }
  /// Empties the queue; returns its jobs, still linked through next_.
  blocking_job* take_all() noexcept {
    tail = nullptr;
    queued = 0;
    queued_now.store(0, std::memory_order_relaxed);
    return std::exchange(head, nullptr);
  }
  void set_threads(unsigned n) noexcept {
    threads = n;
    threads_now.store(n, std::memory_order_relaxed);
  }
  bool has_idle() const noexcept { return spinner || idle; }
  /// Takes an idle thread, the spinning one first, else the most recently parked, and gives
  /// it `j` (null: wake it to exit). Returns the slot if its thread sleeps: the caller must
  /// then wake it (futex_wake), preferably after releasing the mutex.
  thread_slot* take_idle(blocking_job* j) noexcept {
    thread_slot* t = std::exchange(spinner, nullptr);
    if (!t) {
      t = idle;
      idle = t->next;
    }
    t->handoff = j;
    return t->state.exchange(thread_slot::woken, std::memory_order_release) == thread_slot::sleeping ? t : nullptr;
  }
  /// A slot for a new thread (may throw std::bad_alloc).
  thread_slot* new_slot() {
    thread_slot* t = free_slots;
    if (t) {
      free_slots = t->next;
    } else {
      t = &slots.emplace_back();
    }
    t->state.store(thread_slot::spinning, std::memory_order_relaxed);
    t->handoff = nullptr;
    t->next = nullptr;
    return t;
  }
  void release_slot(thread_slot* t) noexcept {
    t->next = free_slots;
    free_slots = t;
  }
  /// If jobs are queued and no thread is on its way to them, wakes (hands the next job to) an
  /// idle thread, or starts one below the maximum; the caller carries the action out after
  /// releasing the mutex. The thread chosen "checks in" (check_in) when it runs.
  wake_action find_thread_for_queue() noexcept;
  wake_action check_in() noexcept {
    waking = false;
    return find_thread_for_queue();
  }
};

blocking_pool::wake_action blocking_pool::shared::find_thread_for_queue() noexcept {
  if (waking || !head) return {};
  if (has_idle()) {
    waking = true;
    return {take_idle(pop()), false};
  }
  if (threads < cfg.max_threads) {
    waking = true;
    set_threads(threads + 1);
    return {nullptr, true};
  }
  return {};
}

namespace {
thread_local const void* current_pool_state = nullptr;  // the pool whose thread this is
}

blocking_pool::blocking_pool(blocking_config cfg) : s_(std::make_shared<shared>(std::move(cfg))) {}

blocking_pool::~blocking_pool() { shutdown(); }

void blocking_pool::fail_next_thread_creations(unsigned n) noexcept {
  failing_creations.store(n, std::memory_order_relaxed);
}

void blocking_pool::before_thread_creation_for_test(std::function<void()> before) { creation_hook() = std::move(before); }

std::size_t blocking_pool::threads() const noexcept { return s_->threads_now.load(std::memory_order_relaxed); }
std::size_t blocking_pool::queued() const noexcept { return s_->queued_now.load(std::memory_order_relaxed); }

void blocking_pool::start_thread(const std::shared_ptr<shared>& sp) {
  shared& s = *sp;
  thread_slot* slot = nullptr;
  try {
    {
      std::lock_guard lock(s.m);
      slot = s.new_slot();
    }
    if (auto& hook = creation_hook()) hook();
    unsigned f = failing_creations.load(std::memory_order_relaxed);
    while (f && !failing_creations.compare_exchange_weak(f, f - 1, std::memory_order_relaxed)) {
    }
    if (f) throw std::system_error(EAGAIN, std::generic_category(), "corio::spawn_blocking: cannot start a thread (test hook)");
    std::thread(thread_main, sp, slot).detach();
  } catch (...) {
    thread_slot* wake = nullptr;
    {
      std::lock_guard lock(s.m);
      if (slot) s.release_slot(slot);
      s.set_threads(s.threads - 1);
      s.waking = false;
      if (s.threads == 0) s.exit_cv.notify_all();
      // Jobs queued while this thread was expected: a thread that went idle since takes them.
      if (s.head && s.has_idle()) {
        s.waking = true;
        wake = s.take_idle(s.pop());
      }
    }
    if (wake) futex_wake(wake->state, 1);
    throw;
  }
}

void blocking_pool::submit(blocking_job* j) {
  shared& s = *s_;
  wake_action act;
  bool closed;
  {
    std::lock_guard lock(s.m);
    j->id_ = s.next_id++;
    j->on_unhandled_ = &s.cfg.on_unhandled_exception;
    closed = s.shut_down;
    if (!closed) {
      s.push(j);
      act = s.find_thread_for_queue();
    }
  }
  if (closed) {
    j->cancel();
    j->drop_ref();
    return;
  }
  if (act.wake) futex_wake(act.wake->state, 1);
  if (!act.start) return;
  try {
    start_thread(s_);
  } catch (...) {
    std::exception_ptr err = std::current_exception();
    blocking_job* stranded = nullptr;
    {
      std::lock_guard lock(s.m);
      if (s.threads == 0) stranded = s.take_all();  // nothing will ever run the queue
    }
    bool mine = false;
    while (blocking_job* q = stranded) {
      stranded = q->next_;
      if (q == j) {
        mine = true;
        continue;
      }
      q->cancel(err);
      q->drop_ref();
    }
    if (mine) throw;  // the caller's job was not queued after all
  }
}

void blocking_pool::thread_main(std::shared_ptr<shared> sp, thread_slot* slot) noexcept {
  shared& s = *sp;
  current_pool_state = &s;
  {
    std::string name = s.cfg.thread_name.substr(0, 15);
    pthread_setname_np(pthread_self(), name.c_str());
  }
  unpin_current_thread();  // if started from a pinned par worker
  std::unique_lock lock(s.m);
  // A thread started or woken for work takes its job, then checks in: the next queued job, if
  // any, goes to the next thread, which checks in in its turn. So a burst of short jobs wakes
  // a thread or two, not one per job, while a burst of long ones still gets a thread each.
  auto check_in_and_run = [&](blocking_job* j) {
    wake_action act = s.check_in();
    lock.unlock();
    act.carry_out(sp);
    j->run();
    j->drop_ref();
    lock.lock();
  };
  if (blocking_job* j = s.pop()) {
    check_in_and_run(j);
  } else {
    s.waking = false;
  }
  for (;;) {
    if (blocking_job* j = s.pop()) {
      lock.unlock();
      j->run();
      j->drop_ref();
      lock.lock();
      continue;
    }
    if (s.shut_down) break;
    // Idle. One thread at a time first spins a little for the next job, yielding its core at
    // every look (see the top of the file); the others, and the spinner once its time is up,
    // sleep on the idle stack until a job is handed to them, shutdown, or keep_alive passes.
    slot->handoff = nullptr;
    slot->state.store(thread_slot::spinning, std::memory_order_relaxed);  // on no list: ours alone
    if (!s.spinner) {
      s.spinner = slot;
      lock.unlock();
      const auto until = std::chrono::steady_clock::now() + spin_time;
      while (slot->state.load(std::memory_order_acquire) != thread_slot::woken && std::chrono::steady_clock::now() < until)
        sched_yield();
      lock.lock();
      if (s.spinner == slot) s.spinner = nullptr;  // not taken: sleep
    }
    if (slot->state.load(std::memory_order_relaxed) != thread_slot::woken) {
      slot->state.store(thread_slot::sleeping, std::memory_order_relaxed);
      slot->next = s.idle;
      s.idle = slot;
      lock.unlock();
      const auto deadline = std::chrono::steady_clock::now() + s.cfg.keep_alive;
      for (;;) {
        if (slot->state.load(std::memory_order_acquire) == thread_slot::woken) break;
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::nanoseconds::zero()) break;
        futex_wait_for(slot->state, thread_slot::sleeping, left);
      }
      lock.lock();
      if (slot->state.load(std::memory_order_relaxed) != thread_slot::woken) {  // timed out, still parked
        thread_slot** p = &s.idle;
        while (*p != slot) p = &(*p)->next;
        *p = slot->next;
        if (!s.head) break;  // idle for keep_alive: retire
        continue;
      }
    }
    if (blocking_job* j = slot->handoff) check_in_and_run(j);  // else woken by shutdown: exits above
  }
  s.release_slot(slot);
  s.set_threads(s.threads - 1);
  s.exit_cv.notify_all();
}

void blocking_pool::shutdown() noexcept {
  shared& s = *s_;
  blocking_job* queued;
  {
    std::lock_guard lock(s.m);
    if (s.shut_down) return;
    s.shut_down = true;
    queued = s.take_all();
    // Parked threads wake with no job and exit. Waking under the lock keeps it simple; the
    // slots outlive the threads anyway.
    while (s.has_idle())
      if (thread_slot* t = s.take_idle(nullptr)) futex_wake(t->state, 1);
  }
  while (blocking_job* j = queued) {
    queued = j->next_;
    j->cancel();
    j->drop_ref();
  }
  // A job may shut its own runtime down: don't wait for the calling thread itself.
  const unsigned self = current_pool_state == &s ? 1 : 0;
  std::unique_lock lock(s.m);
  auto all_gone = [&] { return s.threads <= self; };
  if (s.cfg.shutdown_timeout)
    s.exit_cv.wait_for(lock, *s.cfg.shutdown_timeout, all_gone);
  else
    s.exit_cv.wait(lock, all_gone);
}

// ---------------------------------------------------------------------------------------------
// the runtime's pool (services.hpp)

void blocking_pool_deleter::operator()(blocking_pool* p) const noexcept { delete p; }

void submit_blocking(scheduler& s, blocking_job* j) { s.services().blocking(s).submit(j); }

blocking_pool& runtime_services::blocking(const scheduler& s) {
  if (blocking_pool* p = blocking_ptr_.load(std::memory_order_acquire)) return *p;
  std::lock_guard lock(blocking_mutex_);
  if (blocking_pool* p = blocking_ptr_.load(std::memory_order_relaxed)) return *p;
  const runtime_config& cfg = s.config();
  blocking_config bc;
  bc.max_threads = cfg.max_blocking_threads;
  bc.keep_alive = cfg.blocking_keep_alive;
  bc.shutdown_timeout = cfg.blocking_shutdown_timeout;
  bc.on_unhandled_exception = cfg.on_unhandled_exception;
  bc.thread_name = cfg.thread_name.substr(0, 10) + "-blk";
  blocking_.reset(new blocking_pool(std::move(bc)));
  if (blocking_closed_) blocking_->shutdown();  // spawn_blocking after shutdown: jobs cancel
  blocking_ptr_.store(blocking_.get(), std::memory_order_release);
  return *blocking_;
}

void runtime_services::shutdown_blocking() noexcept {
  blocking_pool* p;
  {
    std::lock_guard lock(blocking_mutex_);
    blocking_closed_ = true;
    p = blocking_.get();
  }
  if (p) p->shutdown();
}

std::size_t runtime_services::blocking_threads() const noexcept {
  blocking_pool* p = blocking_ptr_.load(std::memory_order_acquire);
  return p ? p->threads() : 0;
}

}  // namespace corio::detail
