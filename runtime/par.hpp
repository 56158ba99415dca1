#pragma once
// corio::par — data parallelism on a work-stealing fork-join pool (what Rayon is to Rust).
//
//   auto total = corio::par::iter(v).map([](auto x) { return x * x; }).sum();
//   corio::par::sort(v);
//   auto [a, b] = corio::par::join([&] { return left(); }, [&] { return right(); });
//
// pool.hpp       the pool: workers, default pool, install(); calling par:: from async code
// join.hpp       join(a, b)
// scope.hpp      scope(body) with spawn() of jobs that borrow from the caller
// algorithm.hpp  for_each, transform, reduce, transform_reduce, count_if, find_any, any_of,
//                all_of, none_of, min/max(_element)
// sort.hpp       sort, stable_sort (radix sort for numbers, merge sort with comparators)
// iter.hpp       pipelines: iter/iter_mut/range/chunks . map/filter . sum/reduce/collect/...
// buffer.hpp     buffer<T>, the fastest thing to collect into
// run.hpp        co_await par::run(f): parallel work from a task without blocking its worker

#include "par/algorithm.hpp"
#include "par/buffer.hpp"
#include "par/iter.hpp"
#include "par/join.hpp"
#include "par/pool.hpp"
#include "par/run.hpp"
#include "par/scope.hpp"
#include "par/sort.hpp"
