// Ports Rayon's "par_iter().sum()": the sum of 1..=10 computed in parallel; prints 55.
//
//   Rust                                  corio
//   data.par_iter().sum::<i32>()          corio::par::iter(data).sum()   (an int, like the items)
//
// Ten numbers are far too few to be worth splitting; the pool decides that by itself and the
// call is then an ordinary loop on the calling thread.

#include <corio/runtime/par.hpp>
#include <fmt/format.h>

#include <vector>

int main() {
  std::vector<int> data{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  int result = corio::par::iter(data).sum();
  fmt::print("{}\n", result);
}
