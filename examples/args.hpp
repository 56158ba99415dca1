#pragma once
// Tiny command-line parsing shared by the example programs: `--name value` pairs, and
// `--help` / `-h`, which prints the usage text given to the constructor and exits.

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace examples {

class args {
 public:
  args(int argc, char** argv, const char* usage = nullptr) {
    for (int i = 1; i < argc; i += 2) {
      std::string_view k = argv[i];
      if (usage && (k == "--help" || k == "-h")) {
        std::fputs(usage, stdout);
        std::exit(0);
      }
      if (k.substr(0, 2) != "--" || i + 1 >= argc) {
        std::fprintf(stderr, "%s: expected --name value pairs, got '%s'\n", argv[0], argv[i]);
        if (usage) std::fputs(usage, stderr);
        std::exit(2);
      }
      values_[std::string(k.substr(2))] = argv[i + 1];
    }
    prog_ = argv[0];
    usage_ = usage;
  }
  unsigned long number(const std::string& name, unsigned long fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || end != it->second.data() + it->second.size()) {
      std::fprintf(stderr, "%s: --%s wants a number, got '%s'\n", prog_.c_str(), name.c_str(), it->second.c_str());
      std::exit(2);
    }
    return v;
  }
  /// Exits with a usage error (status 2) naming any `--name` given that is not in `known`.
  void allow_only(std::initializer_list<std::string_view> known) const {
    for (auto& [name, value] : values_) {
      bool ok = false;
      for (auto k : known) ok = ok || k == name;
      if (!ok) {
        std::fprintf(stderr, "%s: unknown option --%s\n", prog_.c_str(), name.c_str());
        if (usage_) std::fputs(usage_, stderr);
        std::exit(2);
      }
    }
  }
  std::string text(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }

 private:
  std::map<std::string, std::string> values_;
  std::string prog_;
  const char* usage_ = nullptr;
};

}  // namespace examples
