// Blocking detection (the watchdog), task dumps, and the Prometheus text format
// (diagnostics.hpp).
//
// The watchdog reads each worker's poll probe with the seqlock pattern: the worker stores the
// task's id, spawn location and start time (release), then makes the sequence odd (release);
// at the end of the poll it makes it even. The watchdog trusts fields read between two equal,
// odd sequence values, and reports each poll at most once (it remembers the sequence value).
//
// The watchdog and the dumps belong to the runtime (detail/services.hpp), not the scheduler.
// A dump sets each worker's `dump_wanted_` and unparks it; the worker adds its registry's live
// tasks between two polls (or as soon as its park returns). Only registry entries are read, and
// only fields that are atomic or fixed at spawn.

#include "diagnostics.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <stdexcept>

#include "detail/context.hpp"
#include "detail/services.hpp"
#include "detail/worker.hpp"
#include "metrics.hpp"

namespace corio {

namespace {
std::string location_text(const std::source_location& w) {
  if (w.line() == 0) return "an unknown place (block_on's task)";
  return fmt::format("{}:{} in {}", w.file_name(), w.line(), w.function_name());
}
}  // namespace

std::string blocking_report::to_string() const {
  return fmt::format(
      "corio: task {} (spawned at {}) has run {} ms on worker {} without suspending (threshold {} ms); "
      "blocking calls and long computations belong in spawn_blocking or par::run",
      task_id, location_text(spawned_at), running_for.count(), worker, threshold.count());
}

const char* to_string(task_status s) noexcept {
  switch (s) {
    case task_status::runnable: return "runnable";
    case task_status::waiting: return "waiting";
    case task_status::cancelling: return "cancelling";
  }
  return "?";
}

std::string task_dump::to_string() const {
  std::string out;
  auto it = std::back_inserter(out);
  for (const task_info& t : tasks) {
    if (t.status == task_status::waiting)
      fmt::format_to(it, "task {} waiting on {}, spawned at {}\n", t.id, t.waiting_on, location_text(t.spawned_at));
    else
      fmt::format_to(it, "task {} {}, spawned at {}\n", t.id, corio::to_string(t.status), location_text(t.spawned_at));
  }
  for (unsigned w : unresponsive_workers)
    fmt::format_to(it, "worker {} did not answer (busy in one long poll, or a current_thread runtime outside block_on); its tasks are missing\n", w);
  return out;
}

std::string format_prometheus(const runtime_metrics& m, std::string_view prefix) {
  std::string out;
  auto it = std::back_inserter(out);
  auto one = [&](std::string_view name, const char* type, const char* help, std::uint64_t v) {
    fmt::format_to(it, "# HELP {0}_{1} {2}\n# TYPE {0}_{1} {3}\n{0}_{1} {4}\n", prefix, name, help, type, v);
  };
  auto per_worker = [&](std::string_view name, const char* type, const char* help, std::uint64_t worker_metrics::*field) {
    fmt::format_to(it, "# HELP {0}_{1} {2}\n# TYPE {0}_{1} {3}\n", prefix, name, help, type);
    for (std::size_t i = 0; i < m.per_worker.size(); ++i) fmt::format_to(it, "{}_{}{{worker=\"{}\"}} {}\n", prefix, name, i, m.per_worker[i].*field);
  };
  one("workers", "gauge", "Async worker threads.", m.workers);
  one("tasks_spawned_total", "counter", "Tasks spawned since the runtime started.", m.tasks_spawned);
  one("tasks_alive", "gauge", "Tasks spawned and not yet completed or cancelled.", m.tasks_alive);
  one("polls_total", "counter", "Times a task was resumed.", m.polls);
  one("steals_total", "counter", "Tasks taken from another worker's queue.", m.steals);
  one("parks_total", "counter", "Times a worker went to sleep in its reactor.", m.parks);
  one("injection_queue_depth", "gauge", "Tasks waiting in the shared injection queue.", m.injection_queue_depth);
  one("timers_armed", "gauge", "Timers waiting to fire.", m.timers_armed);
  one("blocking_threads", "gauge", "Threads of the blocking pool.", m.blocking_threads);
  one("fibers_started_total", "counter", "Fibers that got a stack and began to run.", m.fibers_started);
  one("fibers_alive", "gauge", "Fibers started and not yet finished.", m.fibers_alive);
  one("fiber_resumes_total", "counter", "Switches into a fiber.", m.fiber_resumes);
  one("fiber_busy_seconds_total", "counter", "Time spent running fiber code, in whole seconds.", m.fiber_busy_ns / 1'000'000'000);
  one("fiber_long_resumes_total", "counter", "Fiber runs of 10 ms or more without an await.", m.fiber_long_resumes);
  per_worker("worker_polls_total", "counter", "Times a task was resumed, per worker.", &worker_metrics::polls);
  per_worker("worker_steals_total", "counter", "Successful steals, per worker.", &worker_metrics::steals);
  per_worker("worker_parks_total", "counter", "Times the worker slept in its reactor.", &worker_metrics::parks);
  per_worker("worker_local_queue_depth", "gauge", "Tasks in the worker's local run queue.", &worker_metrics::local_queue_depth);
  per_worker("worker_timers_armed", "gauge", "Timers in the worker's timing wheel.", &worker_metrics::timers_armed);
  return out;
}

namespace detail {

namespace {

std::int64_t coarse_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::chrono::milliseconds blocking_threshold_from(const runtime_config& cfg) {
  if (cfg.detect_blocking) return *cfg.detect_blocking;
  const char* env = std::getenv("CORIO_DETECT_BLOCKING");
  if (!env || !*env) return std::chrono::milliseconds(0);
  std::string_view text(env);
  std::int64_t ms = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size() || ms < 0)
    throw std::invalid_argument(fmt::format(
        "CORIO_DETECT_BLOCKING='{}': expected a whole number of milliseconds (0 turns blocking detection off)", text));
  return std::chrono::milliseconds(ms);
}

void add_live(std::vector<task_info>& out, const task_header* t) {
  namespace ts = task_state;
  const std::uint64_t s = t->state.load(std::memory_order_acquire);
  if (s & ts::complete) return;
  task_info i;
  i.id = t->id;
  i.spawned_at = t->where;
  if (s & (ts::notified | ts::running)) {
    i.status = task_status::runnable;
  } else if (s & ts::cancelled) {
    i.status = task_status::cancelling;
  } else {
    i.status = task_status::waiting;
    const char* what = t->waiting_on.load(std::memory_order_relaxed);
    i.waiting_on = what ? what : "(unknown)";
  }
  out.push_back(std::move(i));
}

}  // namespace

// --- blocking detection ---

void worker::probe_begin(const task_header* t) noexcept {
  probe.task_id.store(t->id, std::memory_order_release);
  probe.where.store(t->where, std::memory_order_release);
  probe.started_ms.store(coarse_ms(), std::memory_order_release);
  probe.seq.store(probe.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);  // odd: polling
}

void worker::probe_end() noexcept {
  probe.seq.store(probe.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

runtime_services::~runtime_services() { stop_watchdog(); }

void runtime_services::start_watchdog(scheduler& s) {
  blocking_threshold_ = blocking_threshold_from(s.config());
  if (blocking_threshold_.count() == 0) return;
  for (std::uint32_t i = 0; i < s.num_workers(); ++i) s.worker_at(i).probing_ = true;  // before they run
  watchdog_ = std::thread([this, &s] { watch_for_blocking(s); });
}

void runtime_services::stop_watchdog() noexcept {
  if (!watchdog_.joinable()) return;
  {
    std::lock_guard lock(watchdog_mutex_);
    watchdog_stop_ = true;
  }
  watchdog_cv_.notify_all();
  watchdog_.join();
}

void runtime_services::watch_for_blocking(scheduler& s) {
  pthread_setname_np(pthread_self(), "corio-watchdog");
  using std::chrono::milliseconds;
  const milliseconds period = std::clamp(blocking_threshold_ / 4, milliseconds(1), milliseconds(250));
  std::vector<std::uint64_t> reported(s.num_workers(), 0);  // per worker: the poll last reported
  std::unique_lock lock(watchdog_mutex_);
  while (!watchdog_cv_.wait_for(lock, period, [&] { return watchdog_stop_; })) {
    lock.unlock();
    const std::int64_t now = coarse_ms();
    for (std::uint32_t i = 0; i < s.num_workers(); ++i) {
      worker::poll_probe& p = s.worker_at(i).probe;
      const std::uint64_t seq = p.seq.load(std::memory_order_acquire);
      if (!(seq & 1) || reported[i] == seq) continue;
      blocking_report r;
      r.task_id = p.task_id.load(std::memory_order_relaxed);
      r.spawned_at = p.where.load(std::memory_order_relaxed);
      const std::int64_t started = p.started_ms.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (p.seq.load(std::memory_order_relaxed) != seq) continue;  // that poll ended meanwhile
      r.running_for = milliseconds(std::max<std::int64_t>(0, now - started));
      if (r.running_for < blocking_threshold_) continue;
      reported[i] = seq;
      r.worker = static_cast<unsigned>(i);
      r.threshold = blocking_threshold_;
      try {
        if (s.config().on_blocking)
          s.config().on_blocking(r);
        else
          fmt::print(stderr, "{}\n", r.to_string());
      } catch (...) {
        std::fputs("corio: the blocking-report hook threw; the report is dropped\n", stderr);
      }
    }
    lock.lock();
  }
}

// --- task dumps ---

struct runtime_services::dump_state {
  std::mutex m;
  std::condition_variable cv;
  std::vector<task_info> tasks;
  std::vector<bool> answered;
  std::size_t pending = 0;

  void add(std::uint32_t worker, std::vector<task_info> mine) {
    {
      std::lock_guard lock(m);
      if (answered[worker]) return;
      answered[worker] = true;
      --pending;
      tasks.insert(tasks.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
    }
    cv.notify_all();
  }
};

void worker::answer_dump() {
  if (!dump_wanted_.exchange(false, std::memory_order_acquire)) return;
  std::shared_ptr<runtime_services::dump_state> d = sched_.services().current_dump();
  if (!d) return;  // that dump gave up on us already
  std::vector<task_info> mine;
  owned_.for_each([&](const task_header* t) { add_live(mine, t); });
  d->add(index_, std::move(mine));
}

std::shared_ptr<runtime_services::dump_state> runtime_services::current_dump() {
  std::lock_guard lock(dump_mutex_);
  return dump_;
}

task_dump runtime_services::dump_tasks(scheduler& s, std::chrono::milliseconds wait) {
  std::lock_guard one_at_a_time(dump_call_mutex_);
  auto d = std::make_shared<dump_state>();
  d->answered.assign(s.num_workers(), false);
  d->pending = s.num_workers();
  {
    std::lock_guard lock(dump_mutex_);
    dump_ = d;
  }
  thread_context& c = this_thread();
  worker* self = c.sched == &s ? c.current_worker : nullptr;
  for (auto& w : s.workers_) {
    if (w.get() == self) continue;
    w->dump_wanted_.store(true, std::memory_order_release);
    w->unpark();
  }
  if (self) {  // called from a task: answer for our own worker here
    self->dump_wanted_.store(true, std::memory_order_relaxed);
    self->answer_dump();
  }
  std::vector<task_info> foreign;
  {
    std::lock_guard lock(s.foreign_mutex_);
    s.foreign_owned_.for_each([&](const task_header* t) { add_live(foreign, t); });
  }
  task_dump out;
  {
    std::unique_lock lock(d->m);
    d->cv.wait_for(lock, wait, [&] { return d->pending == 0; });
    for (std::size_t i = 0; i < d->answered.size(); ++i)
      if (!d->answered[i]) out.unresponsive_workers.push_back(static_cast<unsigned>(i));
    d->pending = 0;
    d->answered.assign(d->answered.size(), true);  // late answers are dropped
    out.tasks = std::move(d->tasks);
  }
  {
    std::lock_guard lock(dump_mutex_);
    dump_.reset();
  }
  out.tasks.insert(out.tasks.end(), std::make_move_iterator(foreign.begin()), std::make_move_iterator(foreign.end()));
  std::sort(out.tasks.begin(), out.tasks.end(), [](const task_info& a, const task_info& b) { return a.id < b.id; });
  return out;
}

}  // namespace detail
}  // namespace corio
