// membw — the memory limits par_map runs into on this machine, measured with plain threads.
//
//   membw [--n N] [--threads T] [--runs R]
//
// par_map reads N u64 and writes N u64 into a fresh array. Two things bound it:
//   map   out[i] = in[i] * 2654435761 into memory already touched: the read+write bandwidth,
//         counted as 16 bytes per element (what the program moves; the hardware may move 24,
//         reading each output line before writing it);
//   fill  writing every byte of a fresh anonymous mapping: page faults plus zeroing plus the
//         write, with 4 KiB pages and with MADV_HUGEPAGE (2 MiB pages where THP allows).
// Each is split evenly over T threads (default: one per core), the best of R runs (default 5).
// It prints one line per measurement: seconds, and GB/s of the bytes the program moves.

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

/// Runs body(lo, hi) on `threads` threads over [0, n) split evenly; returns the wall seconds.
template <class Body>
double split_run(std::size_t n, unsigned threads, Body body) {
  const auto t0 = clock_type::now();
  std::vector<std::thread> ts;
  for (unsigned k = 0; k < threads; ++k)
    ts.emplace_back([&, k] { body(n * k / threads, n * (k + 1) / threads); });
  for (auto& t : ts) t.join();
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::uint64_t* fresh_mapping(std::size_t bytes, bool huge) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("membw: mmap");
    std::exit(1);
  }
  if (huge) madvise(p, bytes, MADV_HUGEPAGE);
  return static_cast<std::uint64_t*>(p);
}

void report(const char* what, double secs, double bytes) {
  std::printf("%-34s %.4f s  %6.2f GB/s\n", what, secs, bytes / secs / 1e9);
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "membw: %s\nusage: membw [--n N] [--threads T] [--runs R]\n", why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 20'000'000;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + flag).c_str());
    char* end = nullptr;
    const unsigned long long v = std::strtoull(argv[++i], &end, 10);
    if (*end != '\0' || v == 0) usage(("bad value for " + flag + ": " + argv[i]).c_str());
    if (flag == "--n")
      n = v;
    else if (flag == "--threads")
      threads = static_cast<unsigned>(std::min<unsigned long long>(v, 1024));
    else if (flag == "--runs")
      runs = static_cast<int>(std::min<unsigned long long>(v, 1000));
    else
      usage(("unknown flag " + flag).c_str());
  }
  const std::size_t bytes = n * sizeof(std::uint64_t);
  std::printf("membw: n=%zu (%.0f MB per array), %u threads, best of %d\n", n, bytes / 1e6, threads, runs);

  std::vector<std::uint64_t> in(n), out(n);
  for (std::size_t i = 0; i < n; ++i) in[i] = i * 0x9E3779B97F4A7C15ull;
  double best = 1e9;
  for (int r = 0; r < runs; ++r)
    best = std::min(best, split_run(n, threads, [&](std::size_t lo, std::size_t hi) {
                      for (std::size_t i = lo; i < hi; ++i) out[i] = in[i] * 2654435761ull;
                    }));
  report("map into touched memory (r+w)", best, 2.0 * bytes);

  for (bool huge : {false, true}) {
    best = 1e9;
    for (int r = 0; r < runs; ++r) {
      std::uint64_t* p = fresh_mapping(bytes, huge);
      best = std::min(best, split_run(n, threads, [&](std::size_t lo, std::size_t hi) {
                        std::memset(p + lo, 1, (hi - lo) * sizeof(std::uint64_t));
                      }));
      munmap(p, bytes);
    }
    report(huge ? "fill fresh memory, MADV_HUGEPAGE" : "fill fresh memory, 4 KiB pages", best, 1.0 * bytes);
  }
  std::uint64_t ck = 0;
  for (std::size_t i = 0; i < n; i += 4096) ck ^= out[i];
  std::fprintf(stderr, "membw: checksum %llu\n", static_cast<unsigned long long>(ck));
  return 0;
}
