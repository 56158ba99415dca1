#pragma once
// The blocking pool behind corio::spawn_blocking: a per-runtime set of plain threads for work
// that blocks (file system calls, C libraries, long computations that would stall a worker).
// Protocol notes are at the top of blocking_pool.cpp.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "export.hpp"
#include "join_slot.hpp"

namespace corio::detail {

class scheduler;

/// One spawn_blocking call: its closure, then its result. Shared by the pool (until the job has
/// completed) and the handle (until it is dropped or awaited); freed by the last of the two.
///
/// State word, one atomic:
///   started       - a pool thread took the job and runs it (set once; never with `claimed`)
///   claimed       - cancel() took the job before any thread did (set once): it will not run
///   complete      - the result (or exception) is stored, or the job was cancelled; final
///   cancelled     - the job never ran: aborted while queued, or its runtime shut down first
///   join_waiter   - `waiter_` holds the waker (a task reference) of the task awaiting the handle
///   join_interest - the handle exists (set at creation, cleared when it goes): else an
///                   exception nobody will read is reported to the runtime's hook
/// Transitions are acq_rel RMWs. `complete`, `join_waiter` and `join_interest` with `waiter_`
/// are the job's join slot, the protocol task headers use too (join_slot.hpp): the awaiting
/// task registers its waker unless `complete` is set, the thread that sets `complete` wakes
/// it, an awaiting task destroyed while suspended takes it back unless `complete` is set.
class CORIO_API blocking_job {
 public:
  static constexpr std::uint64_t started = 1u << 0, claimed = 1u << 1, cancelled = 1u << 3;
  static constexpr std::uint64_t complete = join_slot::complete, join_waiter = join_slot::join_waiter,
                                 join_interest = join_slot::join_interest;
  static_assert(((started | claimed | cancelled) & join_slot::bits) == 0, "the join slot's bits are its own");

  blocking_job() noexcept = default;
  blocking_job(const blocking_job&) = delete;
  blocking_job& operator=(const blocking_job&) = delete;

  /// The pool thread: runs the closure unless the job was aborted first.
  void run() noexcept;
  /// Completes the job without running it (abort, shutdown, or no thread could be started:
  /// `error` then becomes its exception).
  void cancel(std::exception_ptr error = nullptr) noexcept;

  // --- the handle's side ---
  bool is_complete() const noexcept { return join_slot::is_complete(state_); }
  /// Registers the waker `w` (one reference); false (and `w` dropped) if already complete.
  bool register_waiter(task_header* w) noexcept;
  /// The awaiting task is destroyed while suspended: takes the waker back.
  void unregister_waiter() noexcept;
  /// Aborts a job that has not started (it will never run); no effect once it started.
  void abort() noexcept;
  /// The handle goes away: the result will not be read.
  void release_handle() noexcept;
  /// After completion: throws corio::cancelled if the job never ran, or rethrows its exception.
  /// Called once (it takes the exception out), on the handle's thread: the exception object's
  /// last reference then goes on that thread, not with the job on the pool thread (the
  /// exception's own reference count lives in uninstrumented libstdc++, so ThreadSanitizer
  /// could not see that the reader was done with it).
  void check_result();
  std::uint64_t id() const noexcept { return id_; }

  void drop_ref() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  virtual ~blocking_job() = default;
  /// Calls the closure and stores its result (or exception in error_), then destroys it.
  virtual void invoke() noexcept = 0;
  /// Destroys the closure without calling it.
  virtual void discard() noexcept = 0;

  std::exception_ptr error_;

 private:
  friend class blocking_pool;
  void finish(std::uint64_t extra) noexcept;

  atomic<std::uint64_t> state_{join_interest};
  std::atomic<std::uint32_t> refs_{2};  // the pool's and the handle's
  task_header* waiter_ = nullptr;
  blocking_job* next_ = nullptr;        // queue link, guarded by the pool's mutex
  std::uint64_t id_ = 0;
  std::function<void(std::exception_ptr, std::uint64_t)>* on_unhandled_ = nullptr;  // the pool's hook
};

struct blocking_config {
  unsigned max_threads = 512;
  std::chrono::nanoseconds keep_alive = std::chrono::seconds(10);
  std::optional<std::chrono::nanoseconds> shutdown_timeout;  ///< none: wait for every running job
  std::function<void(std::exception_ptr, std::uint64_t)> on_unhandled_exception;
  std::string thread_name = "corio-blocking";
};

/// Queues `j` on the blocking pool of `s` (started on first use): blocking_pool::submit.
CORIO_API void submit_blocking(scheduler& s, blocking_job* j);

class blocking_pool {
 public:
  explicit blocking_pool(blocking_config cfg);
  ~blocking_pool();  // shuts down
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues `j` (taking the pool's reference), starting a thread if none is idle and the pool
  /// is below its maximum. After shutdown the job completes as cancelled at once. Throws
  /// std::system_error when no thread could be started and the pool has none (the job is then
  /// not queued: the caller still owns both references).
  CORIO_API void submit(blocking_job* j);

  /// Cancels queued jobs, then waits for running ones (up to the configured timeout; threads
  /// still running after it are left to finish on their own). Idempotent.
  void shutdown() noexcept;

  /// Threads currently alive (running a job or idle).
  std::size_t threads() const noexcept;
  std::size_t queued() const noexcept;

  /// Test hooks: the next `n` thread creations fail as if the kernel refused (EAGAIN); `before`
  /// (if set) is called just before each thread creation is attempted. Set them only while no
  /// blocking pool is in use.
  CORIO_TEST_API static void fail_next_thread_creations(unsigned n) noexcept;
  CORIO_TEST_API static void before_thread_creation_for_test(std::function<void()> before);

 private:
  struct shared;
  struct thread_slot;
  struct wake_action;
  static void thread_main(std::shared_ptr<shared> s, thread_slot* slot) noexcept;
  /// Starts a thread already counted in the pool's `threads`; on failure uncounts it and throws.
  static void start_thread(const std::shared_ptr<shared>& s);
  std::shared_ptr<shared> s_;
};

}  // namespace corio::detail
