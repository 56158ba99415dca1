// The blocking-pool and data-parallel workloads of SPEC.md: spawn_blocking (on a runtime, like
// the Tokio peer) and par_sum, par_sort, par_map, fib_join (on the corio::par pool, like the
// Rayon and oneTBB peers; --threads sets the pool size). The pool is started before the timed
// part (as the Rayon peer's build_global); its workers are asleep when the clock starts.

#include <cstdint>
#include <deque>
#include <vector>

#include "bench.hpp"

namespace {

using namespace bench;
namespace par = corio::par;

// --- spawn_blocking: B calls, 16 in flight, each awaited ------------------------------------------

corio::task<result> spawn_blocking_workload(const args& a) {
  const uint64_t b = a.get("b");
  constexpr std::size_t in_flight = 16;
  auto t0 = steady::now();
  std::deque<corio::blocking_handle<uint64_t>> window;
  uint64_t next = 0, sum = 0;
  for (; next < b && window.size() < in_flight; ++next) window.push_back(corio::spawn_blocking([i = next] { return i; }));
  while (!window.empty()) {
    sum += co_await window.front();
    window.pop_front();
    if (next < b) window.push_back(corio::spawn_blocking([i = next++] { return i; }));
  }
  co_return result{seconds_since(t0), sum};
}

// --- data parallel -------------------------------------------------------------------------------

/// Starts the default pool with --threads workers (one per core by default), outside the
/// timing; --pin 0 leaves its workers unpinned (par::placement::any).
void start_pool(const args& a) {
  if (a.threads()) par::set_default_threads(*a.threads());
  if (a.get("pin") == 0) par::set_default_placement(par::placement::any);
  (void)par::default_pool();
}

std::vector<uint64_t> xorshift_vec(std::size_t n) {
  std::vector<uint64_t> v(n);
  uint64_t x = 88172645463325252ull;
  for (auto& e : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    e = x;
  }
  return v;
}

void par_sum(std::string_view name, const args& a) {
  const uint64_t n = a.get("n");
  start_pool(a);
  volatile uint64_t zero = 0;
  const uint64_t z = zero;  // the compiler cannot fold the sum into a formula
  auto t0 = steady::now();
  uint64_t s = par::range(uint64_t{0}, n).map([z](uint64_t x) { return (x ^ z) * (x ^ z); }).sum();
  report(name, {seconds_since(t0), s});
}

void par_sort(std::string_view name, const args& a) {
  auto v = xorshift_vec(a.get("n"));
  start_pool(a);
  auto t0 = steady::now();
  par::sort(v);
  double secs = seconds_since(t0);
  uint64_t ck = 0;
  for (std::size_t i = 0; i < v.size(); ++i) ck ^= v[i] * (i + 1);
  report(name, {secs, ck});
}

void par_map(std::string_view name, const args& a) {
  const auto in = xorshift_vec(a.get("n"));
  start_pool(a);
  auto t0 = steady::now();
  auto out = par::iter(in).map([](uint64_t x) { return x * 2654435761ull; }).collect<par::buffer>();
  double secs = seconds_since(t0);
  uint64_t ck = 0;
  for (uint64_t x : out) ck ^= x;
  report(name, {secs, ck});
}

uint64_t fib(uint64_t n) {
  if (n < 2) return n;
  auto [x, y] = par::join([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
  return x + y;
}

void fib_join(std::string_view name, const args& a) {
  const uint64_t n = a.get("n");
  start_pool(a);
  auto t0 = steady::now();
  uint64_t f = fib(n);
  report(name, {seconds_since(t0), f});
}

const registrar reg_spawn_blocking({"spawn_blocking", {{"b", 100'000}}, on_runtime<spawn_blocking_workload>});
const registrar reg_par_sum({"par_sum", {{"n", 200'000'000}, {"pin", 1}}, par_sum});
const registrar reg_par_sort({"par_sort", {{"n", 20'000'000}, {"pin", 1}}, par_sort});
const registrar reg_par_map({"par_map", {{"n", 20'000'000}, {"pin", 1}}, par_map});
const registrar reg_fib_join({"fib_join", {{"n", 32}, {"pin", 1}}, fib_join});

}  // namespace
