// The blocking pool (blocking_pool.hpp).
//
// Threads. Created on demand by submit() when no idle thread is waiting and the pool is below
// its maximum, detached, named "<name>". A thread runs queued jobs in FIFO order; when the queue
// is empty it waits on `work_cv` (counted in `idle`) for up to keep_alive, then retires if
// still nothing is queued. submit() wakes one idle thread per job: `notified` counts wake-ups
// issued and not yet consumed, so two quick submits wake two threads, and a thread whose wait
// timed out at the moment it was notified takes the job instead of retiring. With every thread
// busy and the maximum reached, jobs wait in the queue (never dropped).
//
// No spinning. An earlier version let one thread spin for 50 µs after each job, waiting for
// the next: on the 2-core machines corio is measured on, the spinner took a core from the
// async workers that submit the jobs, and the spawn_blocking benchmark ran 2.7x slower than
// with plain waits.
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

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "scheduler.hpp"
#include "task_header.hpp"

namespace corio::detail {

namespace {
std::atomic<unsigned> failing_creations{0};
std::function<void()>& creation_hook() {
  static std::function<void()> hook;
  return hook;
}
constexpr std::uint32_t claimed = 32;  // blocking_job state: being cancelled (not a public bit)
}  // namespace

// ---------------------------------------------------------------------------------------------
// blocking_job

void blocking_job::finish(std::uint32_t extra) noexcept {
  std::uint32_t s = state_.fetch_or(complete | extra, std::memory_order_acq_rel);
  if (s & join_waiter) wake(std::exchange(waiter_, nullptr));
  if ((s & detached) && error_ && on_unhandled_) {  // nobody will see it: report it
    try {
      if (*on_unhandled_) {
        (*on_unhandled_)(error_, id_);
      } else {
        try {
          std::rethrow_exception(error_);
        } catch (const std::exception& e) {
          fmt::print(stderr, "corio: blocking job {} finished with an unhandled exception: {}\n", id_, e.what());
        } catch (...) {
          fmt::print(stderr, "corio: blocking job {} finished with an unhandled exception of a non-std type\n", id_);
        }
      }
    } catch (...) {
      std::fputs("corio: the unhandled-exception hook threw; the exception is dropped\n", stderr);
    }
  }
}

void blocking_job::run() noexcept {
  std::uint32_t s = state_.load(std::memory_order_acquire);
  do {
    if (s & (complete | claimed)) return;  // aborted while queued
  } while (!state_.compare_exchange_weak(s, s | started, std::memory_order_acq_rel, std::memory_order_acquire));
  invoke();
  finish(0);
}

void blocking_job::cancel(std::exception_ptr error) noexcept {
  std::uint32_t s = state_.load(std::memory_order_acquire);
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
  waiter_ = w;
  std::uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (s & complete) {
      waiter_ = nullptr;
      w->drop_ref();
      return false;
    }
    if (state_.compare_exchange_weak(s, s | join_waiter, std::memory_order_acq_rel, std::memory_order_acquire))
      return true;
  }
}

void blocking_job::unregister_waiter() noexcept {
  std::uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & complete) || !(s & join_waiter)) return;  // the completer owns the waker
    if (state_.compare_exchange_weak(s, s & ~join_waiter, std::memory_order_acq_rel, std::memory_order_acquire)) {
      std::exchange(waiter_, nullptr)->drop_ref();
      return;
    }
  }
}

void blocking_job::abort() noexcept { cancel(); }

void blocking_job::release_handle() noexcept {
  state_.fetch_or(detached, std::memory_order_acq_rel);
  drop_ref();
}

void blocking_job::check_result() const {
  if (state_.load(std::memory_order_acquire) & cancelled)
    throw corio::cancelled(fmt::format(
        "corio: blocking job {} was cancelled before it ran (aborted, or its runtime shut down)", id_));
  if (error_) std::rethrow_exception(error_);
}

// ---------------------------------------------------------------------------------------------
// blocking_pool

struct blocking_pool::shared {
  explicit shared(blocking_config c) : cfg(std::move(c)) {}

  blocking_config cfg;
  mutable std::mutex m;
  std::condition_variable work_cv;  // idle threads wait here
  std::condition_variable exit_cv;  // shutdown waits here for the threads to exit
  blocking_job* head = nullptr;     // FIFO queue through blocking_job::next_
  blocking_job* tail = nullptr;
  std::size_t queued = 0;
  unsigned threads = 0;   // alive, or being started
  unsigned idle = 0;      // waiting on work_cv
  unsigned notified = 0;  // wake-ups issued to idle threads and not yet taken
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
  void set_threads(unsigned n) noexcept {
    threads = n;
    threads_now.store(n, std::memory_order_relaxed);
  }
};

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

void blocking_pool::submit(blocking_job* j) {
  shared& s = *s_;
  bool wake = false, start = false, closed;
  {
    std::lock_guard lock(s.m);
    j->id_ = s.next_id++;
    j->on_unhandled_ = &s.cfg.on_unhandled_exception;
    closed = s.shut_down;
    if (!closed) {
      s.push(j);
      if (s.idle > s.notified) {
        ++s.notified;
        wake = true;
      } else if (s.threads < s.cfg.max_threads) {
        s.set_threads(s.threads + 1);
        start = true;
      }
    }
  }
  if (closed) {
    j->cancel();
    j->drop_ref();
    return;
  }
  if (wake) s.work_cv.notify_one();
  if (!start) return;
  try {
    if (auto& hook = creation_hook()) hook();
    unsigned f = failing_creations.load(std::memory_order_relaxed);
    while (f && !failing_creations.compare_exchange_weak(f, f - 1, std::memory_order_relaxed)) {
    }
    if (f) throw std::system_error(EAGAIN, std::generic_category(), "corio::spawn_blocking: cannot start a thread (test hook)");
    std::thread(thread_main, s_).detach();
  } catch (...) {
    std::exception_ptr err = std::current_exception();
    std::vector<blocking_job*> stranded;
    {
      std::lock_guard lock(s.m);
      s.set_threads(s.threads - 1);
      if (s.threads == 0)
        while (blocking_job* q = s.pop()) stranded.push_back(q);
      if (s.threads == 0) s.exit_cv.notify_all();
    }
    bool mine = false;
    for (blocking_job* q : stranded) {
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

void blocking_pool::thread_main(std::shared_ptr<shared> sp) noexcept {
  shared& s = *sp;
  current_pool_state = &s;
  {
    std::string name = s.cfg.thread_name.substr(0, 15);
    pthread_setname_np(pthread_self(), name.c_str());
  }
  std::unique_lock lock(s.m);
  for (;;) {
    if (blocking_job* j = s.pop()) {
      lock.unlock();
      j->run();
      j->drop_ref();
      lock.lock();
      continue;
    }
    if (s.shut_down) break;
    ++s.idle;
    const auto deadline = std::chrono::steady_clock::now() + s.cfg.keep_alive;
    bool timed_out = false;
    while (s.notified == 0 && !s.shut_down && !timed_out)
      timed_out = s.work_cv.wait_until(lock, deadline) == std::cv_status::timeout;
    --s.idle;
    if (s.notified > 0) {
      --s.notified;
      continue;
    }
    if (s.shut_down) break;
    if (timed_out && !s.head) break;  // idle for keep_alive: retire
  }
  s.set_threads(s.threads - 1);
  s.exit_cv.notify_all();
}

void blocking_pool::shutdown() noexcept {
  shared& s = *s_;
  std::vector<blocking_job*> queued;
  {
    std::lock_guard lock(s.m);
    if (s.shut_down) return;
    s.shut_down = true;
    while (blocking_job* j = s.pop()) queued.push_back(j);
  }
  s.work_cv.notify_all();
  for (blocking_job* j : queued) {
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
// the scheduler's pool

void blocking_pool_deleter::operator()(blocking_pool* p) const noexcept { delete p; }

blocking_pool& scheduler::blocking() {
  if (blocking_pool* p = blocking_ptr_.load(std::memory_order_acquire)) return *p;
  std::lock_guard lock(blocking_mutex_);
  if (blocking_pool* p = blocking_ptr_.load(std::memory_order_relaxed)) return *p;
  blocking_config bc;
  bc.max_threads = cfg_.max_blocking_threads;
  bc.keep_alive = cfg_.blocking_keep_alive;
  bc.shutdown_timeout = cfg_.blocking_shutdown_timeout;
  bc.on_unhandled_exception = cfg_.on_unhandled_exception;
  bc.thread_name = cfg_.thread_name.substr(0, 10) + "-blk";
  blocking_.reset(new blocking_pool(std::move(bc)));
  if (blocking_closed_) blocking_->shutdown();  // spawn_blocking after shutdown: jobs cancel
  blocking_ptr_.store(blocking_.get(), std::memory_order_release);
  return *blocking_;
}

void scheduler::shutdown_blocking() noexcept {
  blocking_pool* p;
  {
    std::lock_guard lock(blocking_mutex_);
    blocking_closed_ = true;
    p = blocking_.get();
  }
  if (p) p->shutdown();
}

std::size_t scheduler::blocking_threads() const noexcept {
  blocking_pool* p = blocking_ptr_.load(std::memory_order_acquire);
  return p ? p->threads() : 0;
}

}  // namespace corio::detail
