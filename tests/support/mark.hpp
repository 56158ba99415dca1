#pragma once
// For the tests of helpers that cancel their children (join, select, ...): a `mark` records its
// name in a log when it is destroyed, so a test can see that a cancelled child unwound (its
// frame destroyed) before the helper returned, and in which order.

#include <corio/corio.hpp>

#include <string>
#include <vector>

namespace corio::test {

/// Appends `name` to `*log` when destroyed.
struct mark {
  std::vector<std::string>* log;
  std::string name;
  ~mark() { log->push_back(name); }
};

/// A child that holds a mark named `name` while it sleeps for an hour (so it ends only by
/// cancellation) and then returns 0.
inline task<int> slow_marked(std::vector<std::string>& log, std::string name) {
  mark m{&log, name};
  co_await sleep(std::chrono::hours(1));
  co_return 0;
}

}  // namespace corio::test
