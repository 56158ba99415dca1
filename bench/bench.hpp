#pragma once
// What every corio-bench workload file shares: parsed flags, the RESULT line, timing helpers,
// running a workload on a fresh runtime, and self-registration. A workload file (one per area:
// runtime_workloads.cpp, ...) defines its workloads and registers each with a `registrar`; it
// needs no other edit anywhere but its line in bench/meson.build.

#include <corio/corio.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using std::uint64_t;
using steady = std::chrono::steady_clock;

/// A command-line mistake: reported with exit status 2.
struct usage_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct param {
  std::string_view name;  // the flag without "--"
  uint64_t default_value;
};

/// The parsed flags of one workload; get() falls back to the workload's defaults.
class args {
 public:
  args(std::span<const param> params, std::map<std::string, uint64_t, std::less<>> given,
       std::optional<unsigned> threads)
      : params_(params), given_(std::move(given)), threads_(threads) {}

  uint64_t get(std::string_view name) const {
    if (auto it = given_.find(name); it != given_.end()) return it->second;
    for (const param& p : params_)
      if (p.name == name) return p.default_value;
    throw std::logic_error("corio-bench: workload asked for undeclared parameter " + std::string(name));
  }
  std::optional<unsigned> threads() const { return threads_; }

 private:
  std::span<const param> params_;
  std::map<std::string, uint64_t, std::less<>> given_;
  std::optional<unsigned> threads_;
};

struct result {
  double secs;
  uint64_t checksum;
};

double seconds_since(steady::time_point t0);
/// Prints the RESULT line (and flushes, so it survives a slow shutdown).
void report(std::string_view name, result r);
/// Resident set size in bytes, from the VmRSS line of /proc/self/status (as the Tokio peer).
uint64_t vm_rss_bytes();

using runtime_workload = corio::task<result> (*)(const args&);
/// Runs a runtime workload like the Tokio peer: its root is spawned from inside block_on on a
/// fresh runtime (--threads workers), and reported before the runtime shuts down.
void run_on_runtime(std::string_view name, const args& a, runtime_workload w);
template <runtime_workload W>
void on_runtime(std::string_view name, const args& a) {
  run_on_runtime(name, a, W);
}

struct workload {
  std::string_view name;
  std::vector<param> params;  ///< SPEC parameters with their defaults
  void (*run)(std::string_view name, const args& a);
};

/// All registered workloads, in registration order within a file.
std::vector<workload>& registry();
struct registrar {
  explicit registrar(workload w) { registry().push_back(std::move(w)); }
};

}  // namespace bench
