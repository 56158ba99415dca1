#pragma once
// The doctest side of a model: a model run that must pass, and must have explored something.

#include <doctest/doctest.h>

#include <cstddef>

#include "model/explorer.hpp"

namespace corio::model {

/// Checks that `r` found no failure (printing the explorer's counterexample if it did) and
/// explored more than `min_executions` interleavings (a model that explores nothing proves
/// nothing).
inline void check_passes(const result& r, std::size_t min_executions = 10) {
  CHECK_MESSAGE(!r.failed, r.failure);
  CHECK(r.executions > min_executions);
}

}  // namespace corio::model
