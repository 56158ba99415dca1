// Ports exercise "threading basics": two threads print the even and the odd numbers from 1 to
// 20; then the program is changed so they print in one alternating sequence 1, 2, 3, ...
//
//   Rust                                  corio / C++
//   thread::spawn + join                  std::jthread (joins itself when it goes out of scope)
//   mpsc::sync_channel(1) between threads corio::mpsc::bounded<int>(1), used from plain threads
//                                         with blocking_send / blocking_recv
//
// The exercise is about OS threads, so these are real threads; corio's channels work from
// plain threads too (blocking_* calls only refuse to run on a runtime worker). Taking turns
// is a baton: each thread waits for a number on its own channel, prints it and passes the next
// number to the other thread. The first part's interleaving is up to the OS scheduler.

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <optional>
#include <thread>
#include <utility>

namespace {

constexpr int last = 20;

void print_every_other(const char* name, int first) {
  for (int n = first; n <= last; n += 2) fmt::print("{}: {}\n", name, n);
}

/// Prints the numbers that arrive on `my_turn` and hands the next one to the other thread.
/// Returns once the count is past `last`, or when the other thread has gone.
void take_turns(const char* name, corio::mpsc::receiver<int> my_turn, corio::mpsc::sender<int> next_turn) {
  while (std::optional<int> n = my_turn.blocking_recv()) {
    if (*n > last) return;  // returning drops next_turn: the other thread's recv() then ends
    fmt::print("{}: {}\n", name, *n);
    next_turn.blocking_send(*n + 1);
  }
}

}  // namespace

int main() {
  fmt::print("-- each thread on its own\n");
  {
    std::jthread evens(print_every_other, "even", 2);
    std::jthread odds(print_every_other, "odd", 1);
  }  // both joined here

  fmt::print("-- taking turns\n");
  auto [to_odd, odd_turn] = corio::mpsc::bounded<int>(1);
  auto [to_even, even_turn] = corio::mpsc::bounded<int>(1);
  if (!to_odd.try_send(1)) return 1;  // the odd thread goes first
  std::jthread odds(take_turns, "odd", std::move(odd_turn), std::move(to_even));
  std::jthread evens(take_turns, "even", std::move(even_turn), std::move(to_odd));
}
