#pragma once
// The fork-join pool behind corio::par: its workers, how they find work, and how they sleep.
// Protocol notes are at the top of pool.cpp.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../detail/export.hpp"
#include "deque.hpp"
#include "job.hpp"
#include "sync.hpp"

namespace corio::par::detail {

class pool_core;

class worker {
 public:
  worker(pool_core& p, unsigned index) noexcept;

  /// Runs jobs (its own first, then stolen or injected ones) until `l` is set, and sleeps when
  /// there are none. `l` null: until the pool terminates (the worker's main loop).
  CORIO_API void wait_until(latch* l) noexcept;
  void wait_until(latch& l) noexcept {
    if (!l.probe()) wait_until(&l);
  }

  /// Pushes `j` onto this worker's deque (private while every worker is busy, deque.hpp),
  /// waking a sleeping worker if nobody is looking for work. False if the deque is full (run
  /// the job yourself).
  inline bool push(job* j) noexcept;
  /// push(j), and every job of this worker's deque becomes stealable (for coarse jobs).
  inline bool push_public(job* j) noexcept;

  static void execute(job* j) noexcept { j->execute(j); }

  pool_core& pool;
  const unsigned index;
  work_deque deque;
  parker park;

 private:
  friend class pool_core;
  job* find_work() noexcept;
  void sleep(latch* l) noexcept;

  std::uint64_t rng_;
  bool registered_asleep_ = false;  // in the pool's sleeper list; guarded by its sleep_mutex_
};

/// The pool worker running on this thread, if any. Plain (not coroutine) code only.
CORIO_API extern constinit thread_local worker* current_worker;

class pool_core {
 public:
  /// Starts `threads` workers (at least one), worker i pinned to cpus[i] where cpus is not
  /// empty (it then has one entry per worker). Throws std::system_error if the kernel refuses
  /// a thread.
  pool_core(unsigned threads, std::string thread_name, std::vector<int> cpus = {});
  ~pool_core();
  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()); }
  worker& worker_at(unsigned i) noexcept { return *workers_[i]; }

  /// Queues a job from outside the pool (or from another pool's worker).
  CORIO_API void inject(job* j);

  /// After a push by a worker onto `d`: if a worker is awake and looking for work, publishes
  /// one more job of `d` for it (deque.hpp); else wakes one sleeper, if any. No fence
  /// (pool.cpp: a wake missed here costs parallelism, never progress).
  void notify_work(work_deque& d) noexcept {
    std::uint64_t s = sleep_.load(std::memory_order_relaxed);
    if ((s & idle_mask) != 0)
      d.publish();
    else if ((s >> 32) != 0)
      wake_one();
  }

  bool terminating() const noexcept { return terminate_.load(std::memory_order_acquire); }

  // --- used by workers ---
  job* take_injected() noexcept;
  bool has_visible_work() const noexcept;
  void enter_idle() noexcept { sleep_.fetch_add(idle_one, std::memory_order_seq_cst); }
  void leave_idle() noexcept { sleep_.fetch_sub(idle_one, std::memory_order_seq_cst); }
  CORIO_API void wake_one() noexcept;
  /// After an idle worker found a job: wakes a sleeper if nobody else is looking and some
  /// work is still visible.
  void wake_another() noexcept;

 private:
  friend class worker;
  static constexpr std::uint64_t idle_one = 1, sleeper_one = std::uint64_t{1} << 32, idle_mask = sleeper_one - 1;

  void shutdown() noexcept;

  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> terminate_{false};

  // Sleep state: low 32 bits count workers awake without work (spinning, stealing), high 32
  // bits workers asleep. Written on idle transitions only; read after every push.
  alignas(64) std::atomic<std::uint64_t> sleep_{0};
  alignas(64) std::mutex sleep_mutex_;
  std::vector<unsigned> sleeping_;  // guarded by sleep_mutex_

  alignas(64) std::atomic<std::size_t> injected_count_{0};
  std::mutex inject_mutex_;
  std::deque<job*> injected_;  // guarded by inject_mutex_
};

inline bool worker::push(job* j) noexcept {
  if (!deque.push(j)) return false;
  pool.notify_work(deque);
  return true;
}

inline bool worker::push_public(job* j) noexcept {
  if (!deque.push(j)) return false;
  deque.publish_all();
  pool.notify_work(deque);
  return true;
}

/// Runs `f` on a worker of `p` and returns its result (rethrowing its exception). The caller
/// blocks; if it is a worker of another pool, it keeps running that pool's jobs meanwhile.
template <class F>
std::invoke_result_t<F&> run_injected(pool_core& p, F& f) {
  worker* w = current_worker;
  stack_job<F> j(f, w ? &w->park : &this_thread_parker());
  p.inject(&j);
  if (w)
    w->wait_until(j.done);
  else
    j.done.wait_parked();
  if (j.result.failed()) std::rethrow_exception(j.result.error());
  if constexpr (!std::is_void_v<std::invoke_result_t<F&>>) return j.result.take();
}

/// Runs `f` in pool `p`: directly on one of its workers, else injected.
template <class F>
std::invoke_result_t<F&> run_in(pool_core& p, F& f) {
  worker* w = current_worker;
  if (w && &w->pool == &p) return f();
  return run_injected(p, f);
}

/// The pool par:: calls use on this thread: the current worker's, else the default pool.
CORIO_API pool_core& current_core();

}  // namespace corio::par::detail
