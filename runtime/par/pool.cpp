// The fork-join pool (pool_core.hpp).
//
// Finding work. A worker takes, in order: the newest job of its own deque, the oldest public
// job of a random other worker's deque (a steal), the oldest injected job (from outside the
// pool). Jobs a busy worker keeps private (deque.hpp) are invisible to thieves: each deque
// keeps at least its oldest job public, and a push publishes one more while any worker is
// awake and looking (`sleep_` low half non-zero).
//
// Sleeping. A worker that finds nothing counts itself idle (`sleep_` low half) and spins for a
// while (about 50 µs), retrying; then yields a few times; then sleeps:
//   1. under sleep_mutex_: add itself to `sleeping_`, move idle -> asleep in `sleep_`;
//   2. if it waits on a latch, mark the latch "waiter asleep" (the setter then unparks it);
//   3. fence, then look once more at every deque and the injection queue;
//   4. park, unless step 3 or the latch found a reason not to;
//   5. on waking: leave `sleeping_` if still there (asleep -> idle), and look for work again.
// A worker that pushes a job stores the deque tail (and maybe the split), then reads `sleep_`
// (no fence): if someone sleeps and nobody is idle-awake, it wakes one (wake_one moves it
// asleep -> idle under the mutex, so one push wakes at most one). Without a fence the pusher
// may miss a worker falling asleep at that moment while that worker's last look misses the
// job; then the job waits for its owner, who runs every job of its own deque that nobody
// steals before it waits or sleeps, so a missed wake costs parallelism, never progress (Rayon
// makes the same trade). The fence it saves is paid on every fork: fib_join ran 1.4x slower
// with it.
// Injection, whose jobs have no owner to fall back on, keeps the full handshake: steps 1-3
// against a full fence then the read of `sleep_` form the Dekker pair of sync.hpp, so either
// the injector sees the sleeper or the sleeper's last look sees the job. A woken worker that
// finds nothing goes through the same cycle again; an idle-awake worker is expected to find
// any new job itself. Since pushes wake nobody while a worker is idle-awake, a worker that
// leaves idle with a job wakes the next sleeper if work is still visible: a burst of jobs
// pushed while one worker was looking wakes the pool one worker after another.
//
// Shutdown: set `terminate_`, unpark every worker, join them. Workers finish the job they run;
// the pool must not be in use by then (pool.hpp).

#include "pool.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "../detail/affinity.hpp"
#include "../error.hpp"

namespace corio::par::detail {

parker& this_thread_parker() noexcept {
  thread_local parker p;
  return p;
}

constinit thread_local worker* current_worker = nullptr;

// ---------------------------------------------------------------------------------------------
// worker

namespace {
constexpr unsigned spin_rounds = 40;   // each ~1 µs of pauses between looks
constexpr unsigned yield_rounds = 8;   // then sched_yield between looks
constexpr unsigned pauses_per_round = 64;
}  // namespace

worker::worker(pool_core& p, unsigned i) noexcept : pool(p), index(i), rng_(0x9E3779B97F4A7C15ull * (i + 1)) {}

job* worker::find_work() noexcept {
  const unsigned n = pool.size();
  if (n > 1) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    unsigned start = static_cast<unsigned>(rng_ % n);
    for (unsigned k = 0; k < n; ++k) {
      unsigned v = start + k < n ? start + k : start + k - n;
      if (v == index) continue;
      if (job* j = pool.workers_[v]->deque.steal()) return j;
    }
  }
  return pool.take_injected();
}

void worker::wait_until(latch* l) noexcept {
  unsigned rounds = 0;
  bool idle = false;
  for (;;) {
    if (l ? l->probe() : pool.terminating()) break;
    job* j = deque.pop();
    if (!j) j = find_work();
    if (j) {
      if (idle) {
        pool.leave_idle();
        idle = false;
        pool.wake_another();
      }
      rounds = 0;
      execute(j);
      continue;
    }
    if (!idle) {
      pool.enter_idle();
      idle = true;
    }
    if (rounds < spin_rounds) {
      for (unsigned k = 0; k < pauses_per_round; ++k) cpu_relax();
      ++rounds;
    } else if (rounds < spin_rounds + yield_rounds) {
      sched_yield();
      ++rounds;
    } else {
      sleep(l);
      rounds = 0;
    }
  }
  if (idle) pool.leave_idle();
}

void worker::sleep(latch* l) noexcept {
  {
    std::lock_guard lock(pool.sleep_mutex_);
    pool.sleeping_.push_back(index);
    registered_asleep_ = true;
    pool.sleep_.fetch_add(pool_core::sleeper_one - pool_core::idle_one, std::memory_order_seq_cst);
  }
  bool stay_awake = l && !l->announce_sleep();
  handshake_fence();
  if (!stay_awake) stay_awake = pool.has_visible_work() || pool.terminating();
  if (!stay_awake) park.park();
  std::lock_guard lock(pool.sleep_mutex_);
  if (registered_asleep_) {  // not taken off the list by wake_one: do it ourselves
    pool.sleeping_.erase(std::find(pool.sleeping_.begin(), pool.sleeping_.end(), index));
    registered_asleep_ = false;
    pool.sleep_.fetch_add(pool_core::idle_one - pool_core::sleeper_one, std::memory_order_seq_cst);
  }
}

// ---------------------------------------------------------------------------------------------
// pool_core

pool_core::pool_core(unsigned threads, std::string thread_name, std::vector<int> cpus) {
  if (threads == 0) threads = 1;
  if (!cpus.empty() && cpus.size() != threads) cpus.clear();
  workers_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<worker>(*this, i));
  threads_.reserve(threads);
  try {
    for (unsigned i = 0; i < threads; ++i) {
      const int cpu = cpus.empty() ? -1 : cpus[i];
      threads_.emplace_back([this, i, thread_name, cpu] {
        std::string name = fmt::format("{}-{}", thread_name.substr(0, 10), i);
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
        if (cpu >= 0)
          corio::detail::pin_current_thread(cpu);
        else
          corio::detail::unpin_current_thread();
        current_worker = workers_[i].get();
        workers_[i]->wait_until(nullptr);
        current_worker = nullptr;
      });
    }
  } catch (...) {
    shutdown();
    throw;
  }
}

pool_core::~pool_core() { shutdown(); }

void pool_core::shutdown() noexcept {
  terminate_.store(true, std::memory_order_release);
  for (auto& w : workers_) w->park.unpark();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void pool_core::inject(job* j) {
  {
    std::lock_guard lock(inject_mutex_);
    injected_.push_back(j);
    injected_count_.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::uint64_t s = sleep_.load(std::memory_order_seq_cst);
  if ((s >> 32) != 0 && (s & idle_mask) == 0) wake_one();
}

job* pool_core::take_injected() noexcept {
  if (injected_count_.load(std::memory_order_acquire) == 0) return nullptr;
  std::lock_guard lock(inject_mutex_);
  if (injected_.empty()) return nullptr;
  job* j = injected_.front();
  injected_.pop_front();
  injected_count_.fetch_sub(1, std::memory_order_relaxed);
  return j;
}

bool pool_core::has_visible_work() const noexcept {
  if (injected_count_.load(tsan_mode ? std::memory_order_seq_cst : std::memory_order_acquire) != 0) return true;
  for (auto& w : workers_)
    if (w->deque.looks_nonempty()) return true;
  return false;
}

void pool_core::wake_another() noexcept {
  std::uint64_t s = sleep_.load(std::memory_order_relaxed);
  if ((s >> 32) != 0 && (s & idle_mask) == 0 && has_visible_work()) wake_one();
}

void pool_core::wake_one() noexcept {
  worker* w;
  {
    std::lock_guard lock(sleep_mutex_);
    if (sleeping_.empty()) return;
    w = workers_[sleeping_.back()].get();
    sleeping_.pop_back();
    w->registered_asleep_ = false;
    sleep_.fetch_add(idle_one - sleeper_one, std::memory_order_seq_cst);
  }
  w->park.unpark();
}

namespace {
std::mutex default_mutex;
unsigned default_threads = 0;
corio::par::placement default_placement = corio::par::placement::spread;
std::atomic<corio::par::pool*> default_instance{nullptr};

unsigned resolve(unsigned threads) {
  if (threads > 4096)
    throw std::invalid_argument(fmt::format("corio::par::pool: {} threads is out of range 0..4096", threads));
  return threads ? threads : std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

pool_core& current_core() {
  if (worker* w = current_worker) return w->pool;
  return corio::par::default_pool().core();
}

}  // namespace corio::par::detail

namespace corio::par {

namespace {
/// The CPUs to pin workers to: one each, when they fit in the process's affinity set.
std::vector<int> pinning(unsigned threads, placement where) {
  if (where != placement::spread) return {};
  std::vector<int> cpus = corio::detail::process_cpus();
  if (cpus.size() < 2 || threads > cpus.size()) return {};
  cpus.resize(threads);
  return cpus;
}
}  // namespace

pool::pool(unsigned threads, placement where) {
  const unsigned n = detail::resolve(threads);
  core_ = std::make_unique<detail::pool_core>(n, "corio-par", pinning(n, where));
}

pool::~pool() = default;

pool& default_pool() {
  if (pool* p = detail::default_instance.load(std::memory_order_acquire)) return *p;
  std::lock_guard lock(detail::default_mutex);
  if (pool* p = detail::default_instance.load(std::memory_order_relaxed)) return *p;
  // Never destroyed: par:: calls stay valid during static destruction, and exiting does not
  // wait for the workers (they are parked, or finishing work nobody will read).
  auto* p = new pool(detail::default_threads, detail::default_placement);
  detail::default_instance.store(p, std::memory_order_release);
  return *p;
}

void set_default_threads(unsigned threads) {
  detail::resolve(threads);  // validates
  std::lock_guard lock(detail::default_mutex);
  if (detail::default_instance.load(std::memory_order_relaxed))
    throw usage_error("corio::par::set_default_threads: the default pool has already started");
  detail::default_threads = threads;
}

void set_default_placement(placement where) {
  if (where != placement::spread && where != placement::any)
    throw std::invalid_argument(
        fmt::format("corio::par::set_default_placement: {} is not a placement", static_cast<int>(where)));
  std::lock_guard lock(detail::default_mutex);
  if (detail::default_instance.load(std::memory_order_relaxed))
    throw usage_error("corio::par::set_default_placement: the default pool has already started");
  detail::default_placement = where;
}

unsigned current_num_threads() { return detail::current_core().size(); }

}  // namespace corio::par
