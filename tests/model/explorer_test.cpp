// The explorer on itself: classic litmus tests whose allowed and forbidden outcomes are known,
// so we know it finds weak behaviours (and does not invent forbidden ones), races and deadlocks.

#include <doctest/doctest.h>

#include <set>

#include "model/explorer.hpp"
#include "runtime/detail/atomic.hpp"

namespace {

using corio::detail::atomic;
inline void atomic_fence(std::memory_order o) { corio::detail::atomic_thread_fence(o); }
namespace model = corio::model;
constexpr auto relaxed = std::memory_order_relaxed;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;
constexpr auto seq_cst = std::memory_order_seq_cst;

// Store buffering: each thread stores one flag, then loads the other's.
std::set<std::pair<int, int>> store_buffering(std::memory_order fence, bool weaken = false) {
  std::set<std::pair<int, int>> seen;
  model::options opt;
  opt.weaken_sc_fences = weaken;
  auto r = model::explore("litmus: store buffering", opt, [&] {
    atomic<int> x{0}, y{0};
    int r1 = -1, r2 = -1;
    model::thread([&] {
      x.store(1, relaxed);
      if (fence != relaxed) atomic_fence(fence);
      r1 = y.load(relaxed);
    });
    model::thread([&] {
      y.store(1, relaxed);
      if (fence != relaxed) atomic_fence(fence);
      r2 = x.load(relaxed);
    });
    model::run_threads();
    seen.insert({r1, r2});
  });
  CHECK_FALSE(r.failed);
  return seen;
}

}  // namespace

TEST_SUITE("model.explorer") {
  TEST_CASE("store buffering: relaxed allows 0/0, seq_cst fences forbid it") {
    CHECK(store_buffering(relaxed).count({0, 0}) == 1);
    CHECK(store_buffering(std::memory_order_acq_rel).count({0, 0}) == 1);
    auto fenced = store_buffering(seq_cst);
    CHECK(fenced.count({0, 0}) == 0);
    CHECK(fenced.size() == 3);
    CHECK(store_buffering(seq_cst, true).count({0, 0}) == 1);  // the fault injection works
  }

  TEST_CASE("message passing: release/acquire publishes, relaxed does not") {
    for (bool ra : {true, false}) {
      auto r = model::explore(ra ? "litmus: message passing (release/acquire)" : "litmus: message passing (relaxed)",
                              {}, [&] {
                                model::cell<int> data{0};
                                atomic<bool> flag{false};
                                model::thread([&] {
                                  data.set(42);
                                  flag.store(true, ra ? release : relaxed);
                                });
                                model::thread([&] {
                                  if (flag.load(ra ? acquire : relaxed)) model::check(data.get() == 42, "data published");
                                });
                                model::run_threads();
                              });
      CHECK(r.failed == !ra);
      if (!ra) CHECK(r.failure.find("data race") != std::string::npos);
    }
  }

  TEST_CASE("message passing through fences and a release sequence") {
    auto r = model::explore("litmus: message passing (fences, RMW chain)", {}, [&] {
      model::cell<int> data{0};
      atomic<int> flag{0};
      model::thread([&] {
        data.set(42);
        atomic_fence(release);
        flag.store(1, relaxed);
      });
      model::thread([] {});
      model::thread([&] {
        int one = 1;  // an RMW on the flagged store continues its release sequence
        if (flag.compare_exchange_strong(one, 2, relaxed, relaxed)) flag.fetch_add(1, relaxed);
      });
      model::thread([&] {
        if (flag.load(relaxed) != 0) {
          atomic_fence(acquire);
          model::check(data.get() == 42, "data published");
        }
      });
      model::run_threads();
    });
    CHECK_FALSE(r.failed);
    CHECK(r.executions > 10);
  }

  TEST_CASE("coherence: a thread never reads older than what it read before") {
    auto r = model::explore("litmus: read-read coherence", {}, [&] {
      atomic<int> x{0};
      model::thread([&] {
        x.store(1, relaxed);
        x.store(2, relaxed);
      });
      model::thread([&] {
        int a = x.load(relaxed);
        int b = x.load(relaxed);
        model::check(b >= a, "coherent");
      });
      model::run_threads();
    });
    CHECK_FALSE(r.failed);
  }

  TEST_CASE("a lost update and a deadlock are found") {
    auto r = model::explore("negative: non-atomic increment", {}, [&] {
      atomic<int> n{0};
      model::thread([&] { n.store(n.load(relaxed) + 1, relaxed); });
      model::thread([&] { n.store(n.load(relaxed) + 1, relaxed); });
      model::run_threads();
      model::check(n.load(relaxed) == 2, "both increments");
    });
    CHECK(r.failed);
    auto d = model::explore("negative: lock order inversion", {}, [&] {
      corio::detail::mutex a, b;
      model::thread([&] {
        a.lock();
        b.lock();
        b.unlock();
        a.unlock();
      });
      model::thread([&] {
        b.lock();
        a.lock();
        a.unlock();
        b.unlock();
      });
      model::run_threads();
    });
    CHECK(d.failed);
    CHECK(d.failure.find("deadlock") != std::string::npos);
  }
}
