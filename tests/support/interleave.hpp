#pragma once
// Ordering tasks on a single-threaded runtime (test::single()), for the tests of the sync
// primitives: settle() lets the tasks spawned so far run until they wait; spawn_queued() spawns
// one and settles, so that tasks queue on a primitive in the order they were spawned;
// flag_task() only records that it ran, to show that a task which never has to wait still
// lets others run (the coop budget).

#include <corio/corio.hpp>

#include <utility>

namespace corio::test {

/// Yields `rounds` times: on a single-threaded runtime, the tasks spawned before run until they
/// wait or end.
inline task<void> settle(int rounds = 8) {
  for (int i = 0; i < rounds; ++i) co_await yield_now();
}

/// Spawns `t` and settles, so that `t` waits (queued on what it waits for) before the caller
/// goes on; returns its handle.
template <class T>
task<join_handle<T>> spawn_queued(task<T> t) {
  auto h = spawn(std::move(t));
  co_await settle();
  co_return h;
}

/// Sets `ran`, and ends.
inline task<void> flag_task(bool& ran) {
  ran = true;
  co_return;
}

}  // namespace corio::test
