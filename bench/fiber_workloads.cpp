// Fiber workloads, each next to a coroutine twin built the same way, so one run compares them:
//   fiber_yield_many         vs yield_many (runtime_workloads.cpp): T fibers each
//                            corio::await(yield_now()) Y times; checksum T*Y.
//   fiber_ping_pong          vs ping_pong (sync_workloads.cpp): the same P pairs passing a
//                            counter R times over two capacity-1 mpsc channels, written as
//                            plain functions on fibers; checksum 2*P*R.
//   fiber_notify_ping_pong   vs coro_notify_ping_pong: the same exchange handed over with two
//                            corio::notify per pair (the cheapest hand-off the runtime has,
//                            so the switch cost is a larger share); checksum 2*P*R.
//   fiber_switch             vs coro_resume: one thread, no scheduler: N round trips into a
//                            fiber and back (two stack switches), against N resumes of a
//                            coroutine that suspends again at once; checksum N.
#include <corio/sync/mpsc.hpp>
#include <corio/sync/notify.hpp>

#include <algorithm>
#include <coroutine>
#include <exception>
#include <memory>

#include "bench.hpp"
#include "ping_pong.hpp"

namespace {

using namespace bench;

// ---------------------------------------------------------------------------------------------
// yield_many

uint64_t fiber_yielder(uint64_t yields) {
  for (uint64_t i = 0; i < yields; ++i) corio::await(corio::yield_now());
  return yields;
}

corio::task<result> fiber_yield_many(const args& a) {
  const uint64_t tasks = a.get("t"), yields = a.get("y");
  auto t0 = steady::now();
  std::vector<corio::join_handle<uint64_t>> handles;
  handles.reserve(tasks);
  for (uint64_t i = 0; i < tasks; ++i) handles.push_back(corio::spawn_fiber([yields] { return fiber_yielder(yields); }));
  uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return result{seconds_since(t0), sum};
}

// ---------------------------------------------------------------------------------------------
// ping_pong over channels: sync_workloads.cpp's ping and pong, as plain functions

void fiber_pong(corio::mpsc::receiver<uint64_t> ping_rx, corio::mpsc::sender<uint64_t> pong_tx) {
  while (std::optional<uint64_t> c = corio::await(ping_rx.recv())) corio::await(pong_tx.send(*c + 1));
}

uint64_t fiber_ping(corio::mpsc::sender<uint64_t> ping_tx, corio::mpsc::receiver<uint64_t> pong_rx, uint64_t rounds) {
  uint64_t c = 0;
  for (uint64_t i = 0; i < rounds; ++i) {
    corio::await(ping_tx.send(c + 1));
    c = *corio::await(pong_rx.recv());
  }
  return c;
}

corio::task<result> fiber_ping_pong(const args& a) {
  // The channel ends are moved into each fiber's call (the callable keeps nothing), so the
  // pinger's sender closes the ping channel when fiber_ping returns, as in the task version.
  auto start_pong = [](corio::mpsc::receiver<uint64_t> ping_rx, corio::mpsc::sender<uint64_t> pong_tx) {
    corio::spawn_fiber([rx = std::move(ping_rx), tx = std::move(pong_tx)]() mutable {
      fiber_pong(std::move(rx), std::move(tx));
    }).detach();
  };
  auto start_ping = [](corio::mpsc::sender<uint64_t> ping_tx, corio::mpsc::receiver<uint64_t> pong_rx, uint64_t rounds) {
    return corio::spawn_fiber([tx = std::move(ping_tx), rx = std::move(pong_rx), rounds]() mutable {
      return fiber_ping(std::move(tx), std::move(rx), rounds);
    });
  };
  return run_ping_pong(a, start_pong, start_ping);
}

// ---------------------------------------------------------------------------------------------
// ping_pong over notify

struct pp_pair {
  corio::notify to_a, to_b;
  uint64_t messages = 0;  // handed over with the notifications: no two sides touch it at once
};

void fiber_pinger(pp_pair* p, uint64_t rounds) {
  for (uint64_t r = 0; r < rounds; ++r) {
    ++p->messages;
    p->to_b.notify_one();
    corio::await(p->to_a.notified());
  }
}

void fiber_ponger(pp_pair* p, uint64_t rounds) {
  for (uint64_t r = 0; r < rounds; ++r) {
    corio::await(p->to_b.notified());
    ++p->messages;
    p->to_a.notify_one();
  }
}

corio::task<void> coro_pinger(pp_pair* p, uint64_t rounds) {
  for (uint64_t r = 0; r < rounds; ++r) {
    ++p->messages;
    p->to_b.notify_one();
    co_await p->to_a.notified();
  }
}

corio::task<void> coro_ponger(pp_pair* p, uint64_t rounds) {
  for (uint64_t r = 0; r < rounds; ++r) {
    co_await p->to_b.notified();
    ++p->messages;
    p->to_a.notify_one();
  }
}

template <bool Fibers>
corio::task<result> notify_ping_pong(const args& a) {
  const uint64_t pairs = a.get("p"), rounds = a.get("r");
  std::vector<std::unique_ptr<pp_pair>> state;
  state.reserve(pairs);
  for (uint64_t i = 0; i < pairs; ++i) state.push_back(std::make_unique<pp_pair>());
  auto t0 = steady::now();
  std::vector<corio::join_handle<void>> handles;
  handles.reserve(2 * pairs);
  for (auto& s : state) {
    pp_pair* p = s.get();
    if constexpr (Fibers) {
      handles.push_back(corio::spawn_fiber([p, rounds] { fiber_ponger(p, rounds); }));
      handles.push_back(corio::spawn_fiber([p, rounds] { fiber_pinger(p, rounds); }));
    } else {
      handles.push_back(corio::spawn(coro_ponger(p, rounds)));
      handles.push_back(corio::spawn(coro_pinger(p, rounds)));
    }
  }
  for (auto& h : handles) co_await h;
  double secs = seconds_since(t0);
  uint64_t total = 0;
  for (auto& s : state) total += s->messages;
  co_return result{secs, total};
}

// ---------------------------------------------------------------------------------------------
// raw switch cost, one thread

struct switch_loop {
  corio::detail::fiber_context ctx;
  uint64_t n = 0;
  uint64_t done = 0;
  static void entry(void* p) noexcept {
    auto* self = static_cast<switch_loop*>(p);
    for (;;) {
      ++self->done;
      if (self->done == self->n) return;
      self->ctx.suspend();
    }
  }
};

void fiber_switch(std::string_view name, const args& a) {
  switch_loop s;
  s.n = std::max<uint64_t>(a.get("n"), 1);
  s.ctx.create(corio::detail::fiber_context::default_stack_size, &switch_loop::entry, &s);
  auto t0 = steady::now();
  while (!s.ctx.finished()) s.ctx.resume();
  report(name, result{seconds_since(t0), s.done});
}

struct resumable {
  struct promise_type {
    resumable get_return_object() { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> h;
};

resumable suspend_loop(uint64_t n, uint64_t* done) {
  for (;;) {
    ++*done;
    if (*done == n) co_return;
    co_await std::suspend_always{};
  }
}

void coro_resume(std::string_view name, const args& a) {
  uint64_t done = 0;
  auto c = suspend_loop(std::max<uint64_t>(a.get("n"), 1), &done);
  // An opaque handle: each resume is the indirect call a scheduler makes, not inlined away.
  void* addr = c.h.address();
  asm volatile("" : "+r"(addr));
  auto h = std::coroutine_handle<>::from_address(addr);
  auto t0 = steady::now();
  while (!h.done()) h.resume();
  double secs = seconds_since(t0);
  h.destroy();
  report(name, result{secs, done});
}

const registrar reg_fiber_yield_many({"fiber_yield_many", {{"t", 1'000}, {"y", 1'000}}, on_runtime<fiber_yield_many>});
const registrar reg_fiber_ping_pong({"fiber_ping_pong", {{"p", 1'000}, {"r", 1'000}}, on_runtime<fiber_ping_pong>});
const registrar reg_fiber_notify_ping_pong({"fiber_notify_ping_pong", {{"p", 1'000}, {"r", 1'000}},
                                            on_runtime<notify_ping_pong<true>>});
const registrar reg_coro_notify_ping_pong({"coro_notify_ping_pong", {{"p", 1'000}, {"r", 1'000}},
                                           on_runtime<notify_ping_pong<false>>});
const registrar reg_fiber_switch({"fiber_switch", {{"n", 10'000'000}}, fiber_switch});
const registrar reg_coro_resume({"coro_resume", {{"n", 10'000'000}}, coro_resume});

}  // namespace
