// A line-based chat: every line a client sends goes to every other client.
//   chat_server [--port P] [--threads K]
// Try it with a few `nc 127.0.0.1 P`.
//
// Each client has an outbox (a queue and a corio::notify) drained by its own writer task, so a
// slow client never holds up the others.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/sync/notify.hpp>
#include <fmt/format.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "args.hpp"

using corio::net::tcp_listener;
using corio::net::tcp_stream;

namespace {

struct outbox {
  std::mutex mutex;
  std::deque<std::string> lines;
  bool closed = false;
  corio::notify ready;
};

class room {
 public:
  std::shared_ptr<outbox> join(std::uint64_t id) {
    auto box = std::make_shared<outbox>();
    std::lock_guard lock(mutex_);
    members_[id] = box;
    return box;
  }
  void leave(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    members_.erase(id);
  }
  void broadcast(std::uint64_t from, const std::string& line) {
    std::lock_guard lock(mutex_);
    for (auto& [id, box] : members_) {
      if (id == from) continue;
      {
        std::lock_guard l(box->mutex);
        box->lines.push_back(line);
      }
      box->ready.notify_one();
    }
  }

 private:
  std::mutex mutex_;
  std::map<std::uint64_t, std::shared_ptr<outbox>> members_;
};

corio::task<void> writer(corio::net::write_half w, std::shared_ptr<outbox> box) {
  for (;;) {
    std::deque<std::string> batch;
    bool closed;
    {
      std::lock_guard lock(box->mutex);
      batch.swap(box->lines);
      closed = box->closed;
    }
    std::string out;
    for (auto& l : batch) out += l;
    if (!out.empty()) co_await w.write_all(out);
    if (closed) co_return;
    if (batch.empty()) co_await box->ready.notified();
  }
}

corio::task<void> client(tcp_stream s, std::uint64_t id, room& r) {
  auto [rd, wr] = std::move(s).split();
  auto box = r.join(id);
  co_await wr.write_all(fmt::format("welcome, you are client {}\n", id));
  auto w = corio::spawn(writer(std::move(wr), box));
  r.broadcast(id, fmt::format("* client {} joined\n", id));
  std::string pending;
  char buf[1024];
  try {
    for (;;) {
      std::size_t n = co_await rd.read(buf, sizeof buf);
      if (n == 0) break;
      pending.append(buf, n);
      for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos; pending.erase(0, eol + 1))
        r.broadcast(id, fmt::format("{}: {}\n", id, std::string_view(pending).substr(0, eol)));
    }
  } catch (const std::system_error&) {
  }
  r.leave(id);
  {
    std::lock_guard lock(box->mutex);
    box->closed = true;
  }
  box->ready.notify_one();
  try {
    co_await w;
  } catch (const std::exception&) {
  }
  r.broadcast(id, fmt::format("* client {} left\n", id));
}

corio::task<void> serve(std::uint16_t port) {
  room r;
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("chat_server listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  for (std::uint64_t id = 1;; ++id) corio::spawn(client(co_await listener.accept(), id, r)).detach();
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv);
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  b.build().block_on(serve(static_cast<std::uint16_t>(a.number("port", 7000))));
}
