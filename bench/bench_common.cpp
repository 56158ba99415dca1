// Shared parts of corio-bench (bench.hpp).

#include "bench.hpp"

#include <fstream>
#include <sstream>

namespace bench {

double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

void report(std::string_view name, result r) {
  std::printf("RESULT name=%.*s secs=%.6f checksum=%llu\n", static_cast<int>(name.size()), name.data(), r.secs,
              static_cast<unsigned long long>(r.checksum));
  std::fflush(stdout);
}

/// Resident set size in bytes, from the VmRSS line of /proc/self/status (as the Tokio peer).
uint64_t vm_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      uint64_t kib = 0;
      if (fields >> kib) return kib * 1024;
    }
  }
  throw std::runtime_error("no VmRSS line in /proc/self/status");
}

std::vector<workload>& registry() {
  static std::vector<workload> all;
  return all;
}

namespace {
corio::task<result> spawned_root(runtime_workload w, const args& a) { co_return co_await corio::spawn(w(a)); }
}  // namespace

void run_on_runtime(std::string_view name, const args& a, runtime_workload w) {
  corio::runtime::builder b;
  if (a.threads()) b.worker_threads(*a.threads());
  std::optional<corio::runtime> rt(b.build());
  report(name, rt->block_on(spawned_root(w, a)));
  auto t0 = steady::now();
  rt.reset();  // shuts down: cancels and destroys whatever is still parked
  std::fprintf(stderr, "%.*s: runtime shutdown %.3f s\n", static_cast<int>(name.size()), name.data(), seconds_since(t0));
}

}  // namespace bench
