// Ports challenge "building a thread pool": a fixed set of threads runs submitted jobs from a
// queue; a job that fails does not take its thread down, and its error reaches whoever
// submitted it.
//
//   Rust (the usual design)                corio / C++
//   Vec<thread::JoinHandle<()>>            std::vector<std::jthread>
//   mpsc::channel::<Job>()                 corio::mpsc::unbounded<std::unique_ptr<job>>()
//   Arc<Mutex<Receiver<Job>>>              a corio receiver behind a std::mutex (a receiver
//                                          serves one caller at a time)
//   Box<dyn FnOnce() + Send>               std::unique_ptr<job> (move-only type erasure)
//   catch_unwind / Result per job          try/catch in the job; the outcome travels back on a
//                                          corio::oneshot channel
//   drop(sender); join every worker        the destructor: close the queue, jthreads join
//
// Submitters get a job_result<R>; an async task awaits it with `co_await r.get()` (its worker
// is free meanwhile), a plain thread calls r.blocking_get(). corio's own pool of this kind is
// the runtime's blocking pool behind corio::spawn_blocking.

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

/// What a job left behind: its value or its exception.
template <class R>
struct outcome {
  std::optional<R> value;
  std::exception_ptr error;
};

/// The submitter's side of one job.
template <class R>
class job_result {
 public:
  explicit job_result(corio::oneshot::receiver<outcome<R>> rx) : rx_(std::move(rx)) {}

  /// The job's value, or its exception rethrown. For tasks.
  corio::task<R> get() {
    outcome<R> o = co_await rx_;
    co_return unwrap(std::move(o));
  }
  /// The same for plain threads (not on a runtime worker).
  R blocking_get() { return unwrap(rx_.blocking_recv()); }

 private:
  static R unwrap(outcome<R> o) {
    if (o.error) std::rethrow_exception(o.error);
    return std::move(*o.value);
  }
  corio::oneshot::receiver<outcome<R>> rx_;
};

class thread_pool {
  struct job {
    virtual ~job() = default;
    virtual void run() noexcept = 0;
  };
  using job_ptr = std::unique_ptr<job>;
  using queue = std::pair<corio::mpsc::unbounded_sender<job_ptr>, corio::mpsc::receiver<job_ptr>>;

 public:
  /// Starts `threads` worker threads (at least one).
  explicit thread_pool(std::size_t threads) : thread_pool(threads, corio::mpsc::unbounded<job_ptr>()) {}
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  /// Lets the workers finish every queued job, then joins them.
  ~thread_pool() {
    {
      std::lock_guard lock(submit_mutex_);
      sender_.reset();  // no sender left: the workers' recv() ends once the queue is empty
    }
    workers_.clear();  // each jthread joins
  }

  /// Queues `f` and returns at once. Any thread may submit.
  template <class F>
  job_result<std::invoke_result_t<F&>> submit(F f) {
    using R = std::invoke_result_t<F&>;
    static_assert(!std::is_void_v<R>, "this small pool wants jobs that return a value");
    auto [tx, rx] = corio::oneshot::channel<outcome<R>>();
    std::lock_guard lock(submit_mutex_);  // a sender object serves one caller at a time
    sender_->send(std::make_unique<job_of<F, R>>(std::move(f), std::move(tx)));
    return job_result<R>(std::move(rx));
  }

  std::size_t size() const noexcept { return workers_.size(); }

 private:
  template <class F, class R>
  struct job_of final : job {
    job_of(F f, corio::oneshot::sender<outcome<R>> tx) : f_(std::move(f)), tx_(std::move(tx)) {}
    void run() noexcept override {
      outcome<R> o;
      try {
        o.value.emplace(f_());
      } catch (...) {  // the error goes to the submitter; this worker carries on
        o.error = std::current_exception();
      }
      (void)tx_.try_send(std::move(o));  // fails only if the submitter dropped the result: fine
    }
    F f_;
    corio::oneshot::sender<outcome<R>> tx_;
  };

  thread_pool(std::size_t threads, queue q) : sender_(std::move(q.first)), receiver_(std::move(q.second)) {
    for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) workers_.emplace_back([this] { work(); });
  }

  void work() {
    for (;;) {
      std::optional<job_ptr> next;
      {
        std::lock_guard lock(receive_mutex_);  // one worker at a time waits on the queue
        next = receiver_.blocking_recv();
      }
      if (!next) return;  // shut down and drained
      (*next)->run();
    }
  }

  std::mutex submit_mutex_;
  std::optional<corio::mpsc::unbounded_sender<job_ptr>> sender_;
  std::mutex receive_mutex_;
  corio::mpsc::receiver<job_ptr> receiver_;
  std::vector<std::jthread> workers_;  // last: destroyed (joined) before the queue
};

long slow_square(long x) {
  if (x == 3) throw std::domain_error("3 is not welcome here");
  long r = 0;
  for (long k = 0; k < x; ++k) r += x;  // "work"
  return r;
}

corio::task<int> amain(thread_pool& pool) {
  std::vector<job_result<long>> results;
  for (long i = 0; i < 8; ++i) results.push_back(pool.submit([i] { return slow_square(i); }));

  int failed = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    try {
      long v = co_await results[i].get();
      fmt::print("job {}: {}\n", i, v);
    } catch (const std::exception& e) {
      fmt::print("job {}: failed: {}\n", i, e.what());
      ++failed;
    }
  }
  co_return failed;
}

}  // namespace

int main() {
  thread_pool pool(3);
  int failed = corio::block_on(amain(pool));

  // A plain thread uses the same pool, and the pool still has all its threads after a failure.
  long after = pool.submit([] { return slow_square(12); }).blocking_get();
  fmt::print("pool: {} threads; {} job failed and the pool kept going: 12 * 12 = {}\n", pool.size(), failed, after);
  return failed == 1 && after == 144 ? 0 : 1;
}
