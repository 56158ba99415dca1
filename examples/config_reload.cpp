// Reloading settings while tasks run: a watch channel carries the current settings (readers
// only ever need the latest), a broadcast channel carries events (every subscriber gets every
// one). Built as build/gcc/examples/config_reload by tools/test.
//
//   watch::channel<T>(initial)      one value; receivers wait in changed() for a newer one
//   broadcast::channel<T>(capacity) every receiver gets a copy of every message sent after it
//                                   subscribed; one that falls `capacity` behind is told how
//                                   many it missed (broadcast::lagged)
//
// Dropping the last sender ends both: recv() returns an empty optional, changed() throws
// corio::channel_closed once the newest value has been seen.

#include <corio/corio.hpp>
#include <corio/sync/broadcast.hpp>
#include <corio/sync/watch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct settings {
  int version = 1;
  int threads = 2;
};

// Owns both senders: when it returns they are dropped, which is what ends the other tasks.
corio::task<void> reloader(corio::watch::sender<settings> cfg, corio::broadcast::sender<std::string> events) {
  for (int v = 2; v <= 4; ++v) {
    co_await corio::sleep(5ms);  // stands in for noticing that the settings file changed
    cfg.send_modify([&](settings& s) {
      s.version = v;
      s.threads = 2 * v;
    });
    std::size_t n = events.send(fmt::format("settings v{} loaded", v));
    fmt::print("reloader: v{} published to {} subscribers\n", v, n);
  }
  events.send("shutting down");
}

// Receives every event until every sender is gone.
corio::task<std::vector<std::string>> subscriber(corio::broadcast::receiver<std::string> rx) {
  std::vector<std::string> got;
  while (std::optional<std::string> e = co_await rx.recv()) got.push_back(std::move(*e));
  co_return got;
}

// Follows the settings: wakes on each change, reads the newest value. A busy worker may skip
// versions (only the latest is kept), but it always ends on the last one sent.
corio::task<settings> worker(corio::watch::receiver<settings> cfg) {
  for (;;) {
    try {
      co_await cfg.changed();
    } catch (const corio::channel_closed&) {
      co_return *cfg.borrow();
    }
    settings now = *cfg.borrow_and_update();  // copy out: never hold a borrow across co_await
    (void)now;                                // ... resize a pool to now.threads, and so on
  }
}

corio::task<int> amain() {
  auto [cfg_tx, cfg_rx] = corio::watch::channel<settings>();
  auto [ev_tx, ev_rx] = corio::broadcast::channel<std::string>(16);

  corio::watch::receiver<settings> idle = cfg_rx;  // a receiver that does not look until the end

  // Subscribe before anything is sent: a receiver sees the messages sent after it exists.
  std::vector<corio::task<std::vector<std::string>>> subs;
  subs.push_back(subscriber(ev_tx.subscribe()));
  subs.push_back(subscriber(ev_tx.subscribe()));
  subs.push_back(subscriber(std::move(ev_rx)));
  std::vector<corio::task<settings>> workers;
  workers.push_back(worker(cfg_rx));
  workers.push_back(worker(std::move(cfg_rx)));

  auto [events, finals, done] = co_await corio::join(corio::join_all(std::move(subs)),
                                                     corio::join_all(std::move(workers)),
                                                     reloader(std::move(cfg_tx), std::move(ev_tx)));
  (void)done;
  for (std::size_t i = 0; i < events.size(); ++i)
    fmt::print("subscriber {}: {}\n", i, fmt::join(events[i], ", "));
  for (std::size_t i = 0; i < finals.size(); ++i)
    fmt::print("worker {}: stopped with v{} ({} threads)\n", i, finals[i].version, finals[i].threads);

  // The watch keeps only the latest value: a receiver that looks late sees v4, not v2 and v3.
  bool newer = idle.has_changed();
  int seen = idle.borrow_and_update()->version;
  fmt::print("idle receiver: has_changed {}, sees v{}\n", newer, seen);

  // A broadcast receiver that falls behind the buffer learns how many messages it missed.
  auto [tx, rx] = corio::broadcast::channel<int>(2);
  for (int i = 0; i < 5; ++i) tx.send(i);
  try {
    (void)rx.try_recv();
  } catch (const corio::broadcast::lagged& e) {
    fmt::print("lagged: missed {}, then", e.missed());
    while (auto m = rx.try_recv()) fmt::print(" {}", *m);
    fmt::print("\n");
  }
  co_return 0;
}

}  // namespace

int main() { return corio::block_on(amain()); }
