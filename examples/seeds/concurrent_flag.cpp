// Ports exercise "atomics for concurrent updates": one thread sets an AtomicBool to true,
// another checks it and prints a message accordingly.
//
//   Rust                                  corio / C++
//   Arc<AtomicBool>                       std::shared_ptr<shared_state> with a std::atomic<bool>
//   flag.store(true, Ordering::Release)   flag.store(true, std::memory_order_release)
//   flag.load(Ordering::Acquire)          flag.load(std::memory_order_acquire)
//   spin or thread::park until set        flag.wait(false) / flag.notify_all()   (C++20)
//   two thread::spawn + join              two corio::spawn_blocking + co_await
//
// Whether the checker finds the flag already set is a race, so its first line varies. What
// does not vary: once it sees `true` with acquire ordering, it also sees the note the setter
// wrote before its release store. Both sides block their thread (atomic wait), so they run on
// the blocking pool, not on async workers. (Between tasks, a corio::notify or a
// corio::watch<bool> does the waiting without blocking a thread.)

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <atomic>
#include <memory>
#include <string>

namespace {

struct shared_state {
  std::atomic<bool> flag{false};
  std::string note;  // plain data: written before the flag is set, read after it is seen
};

corio::task<void> amain() {
  auto state = std::make_shared<shared_state>();

  auto checker = corio::spawn_blocking([state] {
    if (state->flag.load(std::memory_order_acquire)) {
      fmt::print("Checker: the flag is already set\n");
    } else {
      fmt::print("Checker: the flag is not set yet; waiting\n");
      state->flag.wait(false, std::memory_order_acquire);  // returns once it is not false
    }
    fmt::print("Checker: the flag is true; the setter left the note '{}'\n", state->note);
  });
  auto setter = corio::spawn_blocking([state] {
    state->note = "set by the setter thread";
    state->flag.store(true, std::memory_order_release);
    state->flag.notify_all();
    fmt::print("Setter: the flag is now true\n");
  });

  co_await setter;
  co_await checker;
}

}  // namespace

int main() { corio::block_on(amain()); }
