#pragma once
// Entry point of every parallel loop: runs a folder (drive.hpp) over [0, n) on the right pool
// and turns the loop's first exception back into a throw.

#include <cstddef>
#include <utility>

#include "drive.hpp"
#include "pool_core.hpp"

namespace corio::par::detail {

template <class Folder>
folder_acc_t<Folder> fold_range(Folder& f, std::size_t n, loop_control& ctl) {
  if (n == 0) return f.identity();
  auto body = [&] { return drive(*current_worker, f, ctl, 0, n, chunking{f.min_split > 1 ? f.min_split : 1}); };
  auto acc = run_in(current_core(), body);
  ctl.rethrow_if_failed();
  return acc;
}

template <class Folder>
folder_acc_t<Folder> fold_range(Folder& f, std::size_t n) {
  loop_control ctl;
  return fold_range(f, n, ctl);
}

struct nothing {};

/// A folder that calls body(i) for every index.
template <class Body>
struct index_folder {
  Body& body;
  std::size_t min_split = 1;
  nothing identity() const noexcept { return {}; }
  nothing fold(nothing, std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) body(i);
    return {};
  }
  nothing combine(nothing, nothing) const noexcept { return {}; }
};

/// Calls body(i) for i in [0, n), in parallel.
template <class Body>
void for_each_index(std::size_t n, Body&& body, std::size_t min_split = 1) {
  index_folder<std::remove_reference_t<Body>> f{body, min_split};
  fold_range(f, n);
}

/// Calls body(lo, hi) on disjoint blocks covering [0, n), in parallel (blocks of at least
/// `min_split` elements where n allows).
template <class Body>
struct block_folder {
  Body& body;
  std::size_t min_split = 1;
  nothing identity() const noexcept { return {}; }
  nothing fold(nothing, std::size_t lo, std::size_t hi) {
    body(lo, hi);
    return {};
  }
  nothing combine(nothing, nothing) const noexcept { return {}; }
};

template <class Body>
void for_each_block(std::size_t n, Body&& body, std::size_t min_split = 1) {
  block_folder<std::remove_reference_t<Body>> f{body, min_split};
  fold_range(f, n);
}

}  // namespace corio::par::detail
