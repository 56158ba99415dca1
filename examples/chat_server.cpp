// A line-based chat: every line a client sends goes to every other client.
//   chat_server [--port P] [--threads K] [--max-line BYTES] [--max-outbox BYTES] [--write-ms MS]
// Try it with a few `nc 127.0.0.1 P`.
//
// Each client has an outbox (a queue and a corio::notify) drained by its own writer task, so a
// slow client never holds up the others. Limits, so that one client cannot exhaust the server:
//   --max-line    4096     a line (without its newline) longer than this gets the client an
//                          "error: line longer than N bytes" line, then the client is
//                          disconnected (not truncated: the rest of the line is dropped with it)
//                          and the others read "* client N dropped: line too long"
//   --max-outbox  1048576  bytes queued for one client and not yet handed to its writer; a
//                          client that reads too slowly to stay under it is disconnected and the
//                          others read "* client N dropped: too slow". With the batch its writer
//                          is writing, a client holds at most twice this.
//   --write-ms    10000    a write to a client that does not finish within this drops the client
//                          the same way (a client that stopped reading while little is said)
// A client that fails at any point (a reset before its welcome is written, for one) leaves the
// room at once. The accept loop backs off when the process is out of descriptors (EMFILE), as
// echo_server does.

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/sync/notify.hpp>
#include <fmt/format.h>
#include <sys/socket.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "accept_loop.hpp"
#include "args.hpp"

using namespace std::chrono_literals;
using corio::net::tcp_listener;
using corio::net::tcp_stream;
using ms = std::chrono::milliseconds;

namespace {

constexpr const char* usage =
    "usage: chat_server [--port P] [--threads K] [--max-line BYTES] [--max-outbox BYTES] [--write-ms MS]\n"
    "  --port        port on 127.0.0.1 (default 7000; 0: any free port)\n"
    "  --threads     worker threads (default: one per core)\n"
    "  --max-line    longest line in bytes; a longer one gets an error line, then the client\n"
    "                is disconnected (default 4096)\n"
    "  --max-outbox  bytes waiting for one client; a client that reads too slowly to stay\n"
    "                under it is disconnected (default 1048576)\n"
    "  --write-ms    a write to a client that takes longer disconnects it (default 10000)\n";

struct config {
  std::size_t max_line = 4096;
  std::size_t max_outbox = 1u << 20;
  ms write{10'000};
};

/// What one client is sent: filled by any task (broadcast), drained by the client's writer.
class outbox {
 public:
  outbox(int fd, std::size_t limit) : fd_(fd), limit_(limit) {}

  /// Queues a line for the client. If that would put more than the limit in the queue, the
  /// client is dropped instead: its queue is emptied and closed, and its socket shut down so
  /// that its reader and writer wake up and end.
  void push(std::string line) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      if (bytes_ + line.size() > limit_) {
        drop_locked(true);
      } else {
        bytes_ += line.size();
        lines_.push_back(std::move(line));
      }
    }
    ready_.notify_one();
  }
  /// Drops the client (see push); `slow`: because it reads too slowly (else: it is gone).
  void drop(bool slow) {
    {
      std::lock_guard lock(mutex_);
      drop_locked(slow);
    }
    ready_.notify_one();
  }
  /// No more lines: the writer writes what is queued, then ends. The socket is no longer ours
  /// to shut down after this.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      fd_ = -1;
    }
    ready_.notify_one();
  }
  /// Takes what is queued; `closed` tells whether more may come.
  std::deque<std::string> take(bool& closed) {
    std::lock_guard lock(mutex_);
    std::deque<std::string> out;
    out.swap(lines_);
    bytes_ = 0;
    closed = closed_;
    return out;
  }
  /// Whether the client was dropped for reading too slowly.
  bool too_slow() {
    std::lock_guard lock(mutex_);
    return too_slow_;
  }
  corio::notify& ready() { return ready_; }

 private:
  void drop_locked(bool slow) {
    if (closed_) return;
    closed_ = true;
    too_slow_ = slow;
    lines_.clear();
    bytes_ = 0;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  std::mutex mutex_;
  std::deque<std::string> lines_;
  std::size_t bytes_ = 0;
  bool closed_ = false;
  bool too_slow_ = false;
  int fd_;  // the client's socket while it is in the room, for drop_locked(); -1 after close()
  std::size_t limit_;
  corio::notify ready_;
};

class room {
 public:
  void join(std::uint64_t id, std::shared_ptr<outbox> box) {
    std::lock_guard lock(mutex_);
    members_[id] = std::move(box);
  }
  void leave(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    members_.erase(id);
  }
  void broadcast(std::uint64_t from, const std::string& line) {
    std::lock_guard lock(mutex_);
    for (auto& [id, box] : members_)
      if (id != from) box->push(line);
  }

 private:
  std::mutex mutex_;
  std::map<std::uint64_t, std::shared_ptr<outbox>> members_;
};

/// A client's place in the room: joined on construction; on destruction, however the client
/// ends (an exception included), it leaves and its outbox closes, so no line is queued for it
/// any more and its writer ends.
class membership {
 public:
  membership(room& r, std::uint64_t id, std::shared_ptr<outbox> box) : room_(r), id_(id), box_(std::move(box)) {
    room_.join(id_, box_);
  }
  ~membership() {
    room_.leave(id_);
    box_->close();
  }
  membership(const membership&) = delete;
  membership& operator=(const membership&) = delete;

 private:
  room& room_;
  std::uint64_t id_;
  std::shared_ptr<outbox> box_;
};

corio::task<void> writer(corio::net::write_half w, std::shared_ptr<outbox> box, ms limit) {
  try {
    for (;;) {
      bool closed = false;
      std::deque<std::string> batch = box->take(closed);
      std::string out;
      for (auto& l : batch) out += l;
      if (!out.empty()) co_await corio::timeout(limit, w.write_all(out));
      if (closed) {
        co_await w.shutdown();
        co_return;
      }
      if (batch.empty()) co_await box->ready().notified();
    }
  } catch (const corio::timed_out&) {
    box->drop(true);  // too slow a reader
  } catch (const std::system_error&) {
    box->drop(false);  // the client is gone; wake its reader
  }
}

enum class ending { left, line_too_long };

/// Reads the client's lines and broadcasts them until it closes, fails or is dropped.
corio::task<ending> read_lines(corio::net::read_half& rd, std::uint64_t id, room& r, outbox& box,
                               const config& cfg) {
  std::string pending;  // the start of a line whose newline has not come yet
  char buf[4096];
  try {
    for (;;) {
      std::size_t n = co_await rd.read(buf, sizeof buf);
      if (n == 0) co_return ending::left;
      std::size_t scanned = pending.size();  // only the new bytes can hold a newline
      pending.append(buf, n);
      std::size_t start = 0;
      bool too_long = false;
      for (std::size_t eol; (eol = pending.find('\n', scanned)) != std::string::npos; start = scanned = eol + 1) {
        too_long = eol - start > cfg.max_line;
        if (too_long) break;
        r.broadcast(id, fmt::format("{}: {}\n", id, std::string_view(pending).substr(start, eol - start)));
      }
      if (!too_long) {
        pending.erase(0, start);
        too_long = pending.size() > cfg.max_line;
      }
      if (too_long) {
        box.push(fmt::format("error: line longer than {} bytes; closing the connection\n", cfg.max_line));
        co_return ending::line_too_long;
      }
    }
  } catch (const std::system_error&) {
  }
  co_return ending::left;
}

/// After an error line: reads and drops what the client still sends, for at most a second,
/// so that its unread bytes do not turn our close into a reset that destroys the error line
/// before the client reads it.
corio::task<void> drain(corio::net::read_half& rd) {
  char buf[4096];
  auto until = corio::now() + 1s;
  try {
    for (std::size_t total = 0; total < (1u << 20);) {
      auto left = until - corio::now();
      if (left <= left.zero()) break;
      std::size_t n = co_await corio::timeout(left, rd.read(buf, sizeof buf));
      if (n == 0) break;
      total += n;
    }
  } catch (const corio::timed_out&) {
  } catch (const std::system_error&) {
  }
}

corio::task<void> client(tcp_stream s, std::uint64_t id, room& r, const config& cfg) {
  auto [rd, wr] = std::move(s).split();
  auto box = std::make_shared<outbox>(rd.native_handle(), cfg.max_outbox);
  box->push(fmt::format("welcome, you are client {}\n", id));
  auto w = corio::spawn(writer(std::move(wr), box, cfg.write));
  ending how = ending::left;
  {
    membership m(r, id, box);
    r.broadcast(id, fmt::format("* client {} joined\n", id));
    how = co_await read_lines(rd, id, r, *box, cfg);
  }
  try {
    co_await w;  // the writer flushes what is queued (an error line, say) and ends
  } catch (const std::exception&) {
  }
  if (box->too_slow()) {
    r.broadcast(id, fmt::format("* client {} dropped: too slow\n", id));
  } else if (how == ending::line_too_long) {
    r.broadcast(id, fmt::format("* client {} dropped: line too long\n", id));
    co_await drain(rd);
  } else {
    r.broadcast(id, fmt::format("* client {} left\n", id));
  }
}

corio::task<void> serve(std::uint16_t port, config cfg) {
  room r;
  auto listener = tcp_listener::bind({"127.0.0.1", port});
  fmt::print("chat_server listening on {}\n", listener.local_address().to_string());
  std::fflush(stdout);
  std::uint64_t id = 1;
  auto start_client = [&](tcp_stream s) { corio::spawn(client(std::move(s), id++, r, cfg)).detach(); };
  co_await examples::accept_loop(listener, start_client);  // out of descriptors: backs off, 1 ms to 1 s
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a(argc, argv, usage);
  a.allow_only({"port", "threads", "max-line", "max-outbox", "write-ms"});
  auto b = corio::runtime::builder();
  if (auto k = a.number("threads", 0)) b.worker_threads(static_cast<unsigned>(k));
  config cfg;
  cfg.max_line = a.number("max-line", cfg.max_line);
  cfg.max_outbox = a.number("max-outbox", cfg.max_outbox);
  cfg.write = ms(a.number("write-ms", 10'000));
  b.build().block_on(serve(static_cast<std::uint16_t>(a.number("port", 7000)), cfg));
}
