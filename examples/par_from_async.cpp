// Data parallelism from async code: `co_await corio::par::run(f)` hands CPU-bound work to the
// fork-join pool and frees the async worker meanwhile; inside f, par::join splits work in two
// and par::scope spawns any number of jobs that borrow the caller's locals.
// Built as build/gcc/examples/par_from_async by tools/test.
//
// The runtime here has a single async worker (current_thread), so the timer task below can
// only tick while the parallel work runs because par::run does not block that worker. A plain
// par:: call made directly in a task would block it (and the ticker with it) until done.

#include <corio/corio.hpp>
#include <corio/runtime/par.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

// par::join: both halves may run at once, on two pool workers; join returns both results.
std::uint64_t sum_of_squares(const std::uint64_t* p, std::size_t n) {
  if (n <= 4096) {
    std::uint64_t s = 0;
    for (std::size_t i = 0; i < n; ++i) s += p[i] * p[i];
    return s;
  }
  auto [l, r] = corio::par::join([&] { return sum_of_squares(p, n / 2); },
                                 [&] { return sum_of_squares(p + n / 2, n - n / 2); });
  return l + r;
}

// par::scope: one job per chunk, each writing its own slot of `counts` (a local of the caller:
// scope returns only when every job is done).
std::array<std::uint64_t, 10> last_digit_histogram(const std::vector<std::uint64_t>& v) {
  constexpr std::size_t chunk = 100'000;
  std::vector<std::array<std::uint64_t, 10>> counts((v.size() + chunk - 1) / chunk);
  corio::par::scope([&](corio::par::scope_handle& s) {
    for (std::size_t c = 0; c < counts.size(); ++c)
      s.spawn([&, c] {
        counts[c] = {};
        for (std::size_t i = c * chunk; i < std::min(v.size(), (c + 1) * chunk); ++i) ++counts[c][v[i] % 10];
      });
  });
  std::array<std::uint64_t, 10> total{};
  for (const auto& part : counts)
    for (std::size_t d = 0; d < 10; ++d) total[d] += part[d];
  return total;
}

corio::task<void> ticker(std::atomic<int>& ticks, std::atomic<bool>& stop) {
  corio::interval every(1ms);
  while (!stop.load()) {
    co_await every.tick();
    ticks.fetch_add(1);
  }
}

corio::task<int> amain() {
  std::vector<std::uint64_t> v(1'000'000);
  std::iota(v.begin(), v.end(), std::uint64_t{1});

  std::atomic<int> ticks{0};
  std::atomic<bool> stop{false};
  auto tick_task = corio::spawn(ticker(ticks, stop));

  // The pool computes; the job also waits (on its pool thread) for three ticks of the timer,
  // which it can only see because the async worker is free to run the ticker meanwhile.
  auto [squares, waited] = co_await corio::par::run([&] {
    std::uint64_t s = sum_of_squares(v.data(), v.size());
    auto deadline = std::chrono::steady_clock::now() + 10s;  // a bound, reached only if broken
    while (ticks.load() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    return std::pair{s, ticks.load() >= 3};
  });
  fmt::print("par::run + par::join: sum of squares of 1..{} = {}\n", v.size(), squares);
  fmt::print("timer: {}\n", waited ? "kept ticking on the async worker while the pool worked" : "did NOT tick");

  auto histogram = co_await corio::par::run([&] { return last_digit_histogram(v); });
  fmt::print("par::scope: last digits 0..9 counted {}\n", fmt::join(histogram, " "));

  stop.store(true);
  co_await tick_task;
  co_return waited ? 0 : 1;
}

}  // namespace

int main() {
  auto rt = corio::runtime::builder().current_thread().build();
  return rt.block_on(amain());
}
