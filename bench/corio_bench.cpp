// corio-bench — the workloads of SPEC.md (../shared/bench/SPEC.md), timed the same way as the
// peer programs in ../shared/peers, so that one run can compare the two.
//
//   corio-bench <workload> [--<parameter> <value>]... [--threads <k>]
//
// Every workload prints one line on stdout:
//   RESULT name=<workload> secs=<timed part, 6 decimals> checksum=<integer>
// and notes (lateness, RSS growth, shutdown time) on stderr. Bad arguments: a message on
// stderr and exit status 2. A workload that fails: a message and exit status 1.
//
// Runtime workloads run like the Tokio peer: the workload's root is spawned as a task from
// inside rt.block_on(...), so exactly --threads worker threads run tasks.

#include <corio/corio.hpp>
#include <corio/sync/notify.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using std::uint64_t;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ------------------------------------------------------------------------------ arguments

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

/// "1_000_000" -> 1000000. Digits with optional '_' separators; nothing else.
uint64_t parse_value(std::string_view flag, std::string_view text) {
  std::string digits;
  for (char c : text)
    if (c != '_') digits += c;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    throw usage_failure("bad value '" + std::string(text) + "' for --" + std::string(flag) +
                        " (want a non-negative integer; '_' separators allowed)");
  return v;
}

// ------------------------------------------------------------------------------ helpers

struct result {
  double secs;
  uint64_t checksum;
};

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

// ------------------------------------------------------------------------------ runtime workloads
// Each takes the parsed flags by reference: they live in main() until after the runtime is gone.


corio::task<uint64_t> return_value(uint64_t i) { co_return i; }

corio::task<result> spawn_many(const args& a) {
  const uint64_t n = a.get("n");
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> handles;
  handles.reserve(n);
  for (uint64_t i = 0; i < n; ++i) handles.push_back(corio::spawn(return_value(i)));
  uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;  // wrapping, like the peer
  co_return result{seconds_since(t0), sum};
}

corio::task<uint64_t> yielder(uint64_t yields) {
  for (uint64_t i = 0; i < yields; ++i) co_await corio::yield_now();
  co_return yields;
}

corio::task<result> yield_many(const args& a) {
  const uint64_t tasks = a.get("t"), yields = a.get("y");
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> handles;
  handles.reserve(tasks);
  for (uint64_t i = 0; i < tasks; ++i) handles.push_back(corio::spawn(yielder(yields)));
  uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return result{seconds_since(t0), sum};
}

// Each link spawns the next (detached) and returns, so no frame stays alive per level.
corio::task<void> chain_link(uint64_t depth, uint64_t last, corio::notify* done, uint64_t* reached) {
  if (depth >= last) {
    *reached = depth;  // published by notify_one (happens-before the root's notified())
    done->notify_one();
  } else {
    corio::spawn(chain_link(depth + 1, last, done, reached)).detach();
  }
  co_return;
}

corio::task<result> chained_spawn(const args& a) {
  const uint64_t d = a.get("d");
  auto t0 = steady::now();
  corio::notify done;
  uint64_t reached = 0;
  corio::spawn(chain_link(1, d, &done, &reached)).detach();
  co_await done.notified();
  co_return result{seconds_since(t0), reached};
}

/// Sleeps (i*7919 mod 1000) ms and returns how late it woke up.
corio::task<steady::duration> sleeper(uint64_t i) {
  const steady::duration want = std::chrono::milliseconds(i * 7919 % 1000);
  auto start = steady::now();
  co_await corio::sleep(want);
  auto took = steady::now() - start;
  co_return took > want ? took - want : steady::duration::zero();
}

corio::task<result> timers(const args& a) {
  const uint64_t n = a.get("n");
  auto t0 = steady::now();
  std::vector<corio::join_handle<steady::duration>> handles;
  handles.reserve(n);
  for (uint64_t i = 0; i < n; ++i) handles.push_back(corio::spawn(sleeper(i)));
  uint64_t done = 0;
  steady::duration late_sum{}, late_max{};
  for (auto& h : handles) {
    steady::duration late = co_await h;
    ++done;
    late_sum += late;
    late_max = std::max(late_max, late);
  }
  double secs = seconds_since(t0);
  using ms = std::chrono::duration<double, std::milli>;
  std::fprintf(stderr, "timers: lateness mean %.3f ms, max %.3f ms\n", ms(late_sum).count() / double(std::max<uint64_t>(n, 1)),
               ms(late_max).count());
  co_return result{secs, done};
}

// idle_tasks: the event and the counter outlive the runtime, because the runtime's shutdown
// destroys the parked waiters (unlinking them from the event) after the root has returned.
corio::notify idle_event;  // never notified
std::atomic<uint64_t> idle_parked{0};

corio::task<void> idle_waiter() {
  idle_parked.fetch_add(1, std::memory_order_release);
  co_await idle_event.notified();
}

corio::task<result> idle_tasks(const args& a) {
  const uint64_t n = a.get("n");
  uint64_t rss0 = vm_rss_bytes();
  auto t0 = steady::now();
  for (uint64_t i = 0; i < n; ++i) corio::spawn(idle_waiter()).detach();
  while (idle_parked.load(std::memory_order_acquire) < n) co_await corio::sleep(1ms);
  double secs = seconds_since(t0);
  uint64_t rss1 = vm_rss_bytes();
  uint64_t growth = rss1 > rss0 ? rss1 - rss0 : 0;
  std::fprintf(stderr, "idle_tasks: RSS growth %llu KiB for %llu tasks\n", static_cast<unsigned long long>(growth / 1024),
               static_cast<unsigned long long>(n));
  co_return result{secs, growth / std::max<uint64_t>(n, 1)};
}

// ------------------------------------------------------------------------------ dispatch

using runtime_workload = corio::task<result> (*)(const args&);

corio::task<result> spawned_root(runtime_workload w, const args& a) {
  co_return co_await corio::spawn(w(a));
}

/// Runs a runtime workload on a fresh runtime and reports it (before the runtime shuts down,
/// like the peer, so a slow or broken shutdown still leaves the figure).
template <runtime_workload W>
void on_runtime(std::string_view name, const args& a) {
  corio::runtime::builder b;
  if (a.threads()) b.worker_threads(*a.threads());
  std::optional<corio::runtime> rt(b.build());
  report(name, rt->block_on(spawned_root(W, a)));
  auto t0 = steady::now();
  rt.reset();  // shuts down: cancels and destroys whatever is still parked
  std::fprintf(stderr, "%.*s: runtime shutdown %.3f s\n", static_cast<int>(name.size()), name.data(),
               seconds_since(t0));
}

struct workload {
  std::string_view name;
  std::vector<param> params;
  void (*run)(std::string_view name, const args& a);
};

// To add a workload: one entry here (its parameters with SPEC defaults) and its function.
const std::vector<workload>& workloads() {
  static const std::vector<workload> table = {
      {"spawn_many", {{"n", 1'000'000}}, on_runtime<spawn_many>},
      {"yield_many", {{"t", 1'000}, {"y", 1'000}}, on_runtime<yield_many>},
      {"chained_spawn", {{"d", 1'000'000}}, on_runtime<chained_spawn>},
      {"timers", {{"n", 100'000}}, on_runtime<timers>},
      {"idle_tasks", {{"n", 1'000'000}}, on_runtime<idle_tasks>},
  };
  return table;
}

std::string workload_list() {
  std::string s;
  for (const workload& w : workloads()) {
    s += "  " + std::string(w.name);
    for (const param& p : w.params) s += " [--" + std::string(p.name) + " " + std::to_string(p.default_value) + "]";
    s += " [--threads K]\n";
  }
  return s;
}

const workload& find_workload(std::string_view name) {
  for (const workload& w : workloads())
    if (w.name == name) return w;
  std::string list = workload_list();
  list.pop_back();  // its last newline
  throw usage_failure("unknown workload '" + std::string(name) + "'; workloads:\n" + list);
}

// Every parameter flag of SPEC.md's tables.
constexpr std::array<std::string_view, 10> spec_flags = {"n", "t", "y", "p", "r", "d", "m", "k", "b", "c"};

args parse_args(const workload& w, std::span<char*> argv) {
  std::map<std::string, uint64_t, std::less<>> given;
  std::optional<unsigned> threads;
  for (std::size_t i = 0; i < argv.size(); i += 2) {
    std::string_view flag = argv[i];
    if (flag.substr(0, 2) != "--" || flag.size() == 2)
      throw usage_failure("expected a flag like --n, got '" + std::string(flag) + "'");
    flag.remove_prefix(2);
    if (i + 1 >= argv.size()) throw usage_failure("missing value for --" + std::string(flag));
    uint64_t v = parse_value(flag, argv[i + 1]);
    if (flag == "threads") {
      if (v < 1 || v > 4096) throw usage_failure("--threads must be in 1..4096");
      threads = static_cast<unsigned>(v);
      continue;
    }
    bool known = std::any_of(w.params.begin(), w.params.end(), [&](const param& p) { return p.name == flag; });
    if (!known) {
      // Another workload's SPEC parameter is ignored (so one flag set can drive every workload,
      // as with the peers); anything else is a mistake.
      if (std::find(spec_flags.begin(), spec_flags.end(), flag) != spec_flags.end()) {
        std::fprintf(stderr, "corio-bench: note: %s does not use --%.*s; ignored\n", std::string(w.name).c_str(),
                     static_cast<int>(flag.size()), flag.data());
        continue;
      }
      std::string flags;
      for (const param& p : w.params) flags += "--" + std::string(p.name) + ", ";
      throw usage_failure("unknown flag --" + std::string(flag) + " for " + std::string(w.name) + " (flags: " + flags +
                          "--threads)");
    }
    if (!given.emplace(std::string(flag), v).second) throw usage_failure("--" + std::string(flag) + " given twice");
  }
  return args(w.params, std::move(given), threads);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: corio-bench <workload> [--<parameter> <value>]... [--threads K]\nworkloads:\n%s",
                 workload_list().c_str());
    return 2;
  }
  std::string_view name = argv[1];
  try {
    const workload& w = find_workload(name);
    args a = parse_args(w, std::span<char*>(argv + 2, static_cast<std::size_t>(argc - 2)));
    w.run(w.name, a);
  } catch (const usage_failure& e) {
    std::fprintf(stderr, "corio-bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "corio-bench: %.*s failed: %s\n", static_cast<int>(name.size()), name.data(), e.what());
    return 1;
  }
  return 0;
}
