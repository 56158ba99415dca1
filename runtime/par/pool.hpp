#pragma once
// corio::par::pool — the work-stealing thread pool that runs corio::par's data-parallel work.
//
//   corio::par::pool p(4);                                  // four workers
//   auto s = p.install([&] { return corio::par::iter(v).sum(); });
//
// The pool is separate from the async runtime's workers: CPU-bound fork-join work goes here,
// async tasks stay responsive. Every par:: call made on a pool worker runs on that worker's
// pool; a call made anywhere else runs on the default pool (one worker per core unless set by
// set_default_threads before first use), and the calling thread blocks until it is done.
//
// Called from an async task, a plain par:: call therefore blocks that runtime worker thread
// for the duration (it cannot deadlock: the pool's threads are not the runtime's); use
// `co_await par::run(f)` (run.hpp) to keep the async worker free instead.
//
// Each worker owns a deque of jobs. par::join pushes its second half there (a job that lives
// in the caller's frame: no allocation), runs the first half, then pops the second back, unless
// an idle worker stole it meanwhile, in which case the caller runs other jobs (stolen from other
// workers) until the stolen half is done: a waiting worker never just sleeps while there is
// work, and nested parallel calls cannot deadlock. Idle workers spin briefly, then sleep until
// new work is pushed.
//
// While every worker is busy, a worker keeps the jobs it pushes private (no fence to push or
// pop them) and leaves its oldest job stealable; it publishes more as soon as a worker is
// looking for work, at its next push or pop (detail/deque.hpp). One consequence: a job pushed
// while all workers were busy waits for its owner's next push or pop before others can steal
// it, so a worker deep in one long sequential job holds back the jobs it pushed privately
// before starting it. par::scope's spawns are always stealable at once.

#include <memory>
#include <type_traits>
#include <utility>

#include "../detail/export.hpp"
#include "detail/pool_core.hpp"

namespace corio::par {

/// Where a pool's workers run.
enum class placement {
  /// Worker i is pinned to the i-th CPU the process may run on (sched_getaffinity), when
  /// there are at least two such CPUs and no more workers than CPUs; otherwise as `any`.
  spread,
  /// Wherever the kernel's scheduler puts them.
  any,
};

/// A work-stealing pool of threads for par:: work (see above). Its members may be called from
/// any thread; par:: calls inside install() use this pool.
///
/// Placement. By default a pool of one worker per core pins each worker to its own CPU. A
/// worker that wakes another for a job it just pushed otherwise depends on the scheduler to
/// put the woken one on an idle CPU; where the kernel sees no cache shared between CPUs (as
/// on virtual machines that describe no L3, this one among them) it puts it on the waker's
/// own CPU, where it preempts the waker: the two halves of a join then run one after the
/// other until the load balancer moves one, 2 to 4 ms later. Measured here: a par::join of
/// two 2 ms loops took 4.1 ms in 8 of 10 tries unpinned, 2.1 ms pinned; par_sum's runs spread
/// from 0.034 to 0.046 s unpinned, 0.033 to 0.040 s pinned. placement::any leaves the workers
/// to the scheduler, for a pool sharing its CPUs with other busy threads that must not wait
/// behind a pinned worker.
class CORIO_API pool {
 public:
  /// Starts `threads` workers (0: one per core) placed as `where` says. Throws
  /// std::system_error if the kernel refuses a thread, and std::invalid_argument above 4096.
  explicit pool(unsigned threads = 0, placement where = placement::spread);
  /// Waits for the workers to finish the job they are running and stops them. No install()
  /// may be in progress (or start) while the pool is destroyed.
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  /// The number of worker threads.
  unsigned num_threads() const noexcept { return core_->size(); }

  /// Runs `f` on one of this pool's workers and returns its result (or rethrows its
  /// exception); par:: calls inside `f` use this pool. The calling thread blocks until then.
  /// Called on one of this pool's workers, runs `f` directly.
  template <class F>
  std::invoke_result_t<F&> install(F&& f) {
    return detail::run_in(*core_, f);
  }

  /// The pool's internals (what par::run(pool, f) queues on).
  detail::pool_core& core() noexcept { return *core_; }

 private:
  std::unique_ptr<detail::pool_core> core_;
};

/// The pool par:: calls use outside any pool; started on first use.
CORIO_API pool& default_pool();

/// Sets the size of the default pool (0: one per core). Throws corio::usage_error if the
/// default pool has already started, std::invalid_argument above 4096.
CORIO_API void set_default_threads(unsigned threads);

/// Sets the placement of the default pool's workers (placement::spread unless set). Throws
/// corio::usage_error if the default pool has already started, std::invalid_argument for a
/// value that is not a placement.
CORIO_API void set_default_placement(placement where);

/// The number of workers of the pool a par:: call made here would use.
CORIO_API unsigned current_num_threads();

/// True on a worker thread of any corio::par pool.
inline bool on_worker() noexcept { return detail::current_worker != nullptr; }

}  // namespace corio::par
