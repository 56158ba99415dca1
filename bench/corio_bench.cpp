// corio-bench — the workloads of SPEC.md (../shared/bench/SPEC.md), timed the same way as the
// peer programs in ../shared/peers, so that one run can compare the two.
//
//   corio-bench <workload> [--<parameter> <value>]... [--threads <k>]
//
// Every workload prints one line on stdout:
//   RESULT name=<workload> secs=<timed part, 6 decimals> checksum=<integer>
// and notes (lateness, RSS growth, shutdown time) on stderr. Bad arguments: a message on
// stderr and exit status 2. A workload that fails: a message and exit status 1.
// Workloads live in bench/*_workloads.cpp and register themselves (bench.hpp).

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>

#include "bench.hpp"

namespace {

using namespace bench;

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

std::string workload_list() {
  std::string s;
  for (const workload& w : registry()) {
    s += "  " + std::string(w.name);
    for (const param& p : w.params) s += " [--" + std::string(p.name) + " " + std::to_string(p.default_value) + "]";
    s += " [--threads K]\n";
  }
  return s;
}

const workload& find_workload(std::string_view name) {
  for (const workload& w : registry())
    if (w.name == name) return w;
  std::string list = workload_list();
  list.pop_back();  // its last newline
  throw usage_failure("unknown workload '" + std::string(name) + "'; workloads:\n" + list);
}

// Every parameter flag of SPEC.md's tables.
constexpr std::array<std::string_view, 11> spec_flags = {"n", "t", "y", "p", "r", "d", "m", "k", "b", "c", "port"};

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
