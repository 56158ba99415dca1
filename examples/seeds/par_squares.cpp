// Ports Rayon's "par_iter().map().collect()": square 0..100_000 in parallel and print the
// vector. (The "(0..1000).into_par_iter()" version in another article is `par_squares --n
// 1000`; corio::par::range(0, n) is its into_par_iter.)
//
//   Rust                                  corio
//   input.par_iter()                      corio::par::iter(input)
//   .map(|&x| x * x)                      .map([](std::int64_t x) { return x * x; })
//   .collect::<Vec<_>>()                  .collect<std::vector>()   (keeps the input order)
//   println!("{:?}", output)              fmt "{}" of the vector (fmt/ranges.h)
//
// No async runtime is involved: like Rayon, corio::par runs on its own work-stealing pool and
// the calling thread blocks until the result is ready. Elements are 64-bit: the article's i32
// squares overflow past 46340 (a panic in a Rust debug build).
//
//   par_squares [--n N]

#include <corio/runtime/par.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "../args.hpp"

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  std::vector<std::int64_t> input(a.number("n", 100'000));
  std::iota(input.begin(), input.end(), std::int64_t{0});

  std::vector<std::int64_t> output = corio::par::iter(input).map([](std::int64_t x) { return x * x; }).collect<std::vector>();
  fmt::print("output: {}\n", output);
}
