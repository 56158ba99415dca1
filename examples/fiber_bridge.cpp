// fiber_bridge: synchronous-style code on the runtime, thousands of fibers at once.
//
// A small key-value service with a line protocol, written the way a blocking library is
// written: plain functions that read a line, write a line and return, with no co_await
// anywhere. Each client and each server connection runs on a fiber (corio::spawn_fiber), so a
// "blocking" read or write suspends only its fiber while the runtime's workers run the others.
//
//   client -> server            server -> client
//   SET <key> <value>           OK
//   GET <key>                   VALUE <value> | NONE
//   LOOKUP <key>                FOUND <value>          (asks a callback-style legacy service)
//   WAIT <ms>                   DONE                   (a timer)
//   QUIT                        BYE
//
// Transport: TCP on loopback, and `line_conn` and `line_listener` are the only code that knows
// it. The listener is a corio::net::tcp_listener on 127.0.0.1 (port 0, picked by the kernel,
// unless --port); a connection is a corio::net::tcp_stream, read line by line through a
// corio::buffered_reader and written with write_all, each call one corio::await. connect()
// holds back while 128 connections wait to be accepted, so the kernel's accept queue never
// overflows (see there). The protocol functions only see read_line / write_line / accept /
// connect.
//
// Every client has a connection of its own, and every client connects before any session
// starts (a corio::latch), so all of them are open at once: two descriptors per client, as both
// ends live in this process. main raises the soft RLIMIT_NOFILE to the hard limit and, if that
// is still too low for the clients asked for, runs fewer and says so.
//
// Shutdown order: each session ends with QUIT / BYE (the server's end closes after writing
// BYE, the client's after reading it). Once every client fiber has returned, the gatherer
// closes the listener: accept(), which races the kernel's accept against the listener's
// cancellation token (corio::select), returns nothing, serve() returns and run() joins it.
// Server connection fibers are detached; the runtime, declared after the store, the legacy
// service and the listener they borrow, is destroyed first.
//
// The legacy service answers on a thread of its own through a C-style callback;
// `legacy_lookup` turns that into an ordinary function that blocks only its fiber (the
// callback wakes the fiber through a corio::notify).
//
//   fiber_bridge [--clients N] [--port P] [--threads K]     (defaults: 2000 clients, port 0)

#include <corio/corio.hpp>
#include <corio/io/net.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/notify.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "args.hpp"

namespace {

using namespace std::chrono_literals;

/// Reports a failure of one connection; only the first few are printed.
void report(const char* where, const std::exception& e) {
  static std::atomic<int> reported{0};
  if (reported.fetch_add(1, std::memory_order_relaxed) < 10)
    fmt::print(stderr, "fiber_bridge: {}: {}\n", where, e.what());
}

// --------------------------------------------------------------------------------------------
// Transport: TCP

/// One end of a TCP connection carrying lines. read_line and write_line block the calling
/// fiber (not its thread). One fiber at a time uses a given connection.
class line_conn {
 public:
  explicit line_conn(corio::net::tcp_stream s) : in_(std::move(s), 1024) {  // lines are short: a small buffer
    in_.inner().set_nodelay(true);  // each line is one write, and the peer waits for it
  }

  /// Sends `line` and a "\n". std::system_error if the connection is broken (EPIPE, ECONNRESET).
  void write_line(std::string line) {
    line += '\n';
    corio::await(in_.inner().write_all(line));
  }
  /// The next line without its "\n", or nothing once the peer has closed and every line was
  /// read. std::system_error if the connection is broken.
  std::optional<std::string> read_line() { return corio::await(in_.next_line()); }

 private:
  corio::buffered_reader<corio::net::tcp_stream> in_;  // owns the stream; writes go to inner()
};

/// Where clients connect and the server accepts: a TCP listener on 127.0.0.1.
class line_listener {
 public:
  /// Listens on 127.0.0.1:`port` (0: a free port). std::system_error if it cannot.
  explicit line_listener(std::uint16_t port)
      : listener_(corio::net::tcp_listener::bind({"127.0.0.1", port}, {.backlog = 4096})),
        address_(listener_.local_address()) {}

  corio::net::socket_address address() const { return address_; }

  /// Client side: a new connection. std::system_error if it is refused.
  ///
  /// Waits while `max_unaccepted` connections are made and not yet accepted. The kernel
  /// queues a listener's completed connections until accept takes them, but only
  /// net.core.somaxconn of them (128 on older kernels); past that it drops handshakes, which
  /// the clients retry only after a second or more, so thousands of connects at once would
  /// crawl. Both ends live in this process, so the listener can count the queue itself: a
  /// connect takes a permit for good, an accept puts one back.
  line_conn connect() {
    corio::await(unaccepted_.acquire()).forget();
    try {
      return line_conn(corio::await(corio::net::tcp_stream::connect(address_)));
    } catch (const std::exception&) {
      unaccepted_.add_permits(1);  // never queued
      throw;
    }
  }

  /// Server side: the next connection, or nothing once close() has been called. Waits out
  /// running out of descriptors (EMFILE), with a message and a growing pause, as a server must.
  std::optional<line_conn> accept() {
    auto backoff = 1ms;
    for (;;) {
      try {
        auto next = corio::await(corio::select(accept_one(listener_), wait_closed(closing_)));
        if (next.index() == 1) return std::nullopt;
        unaccepted_.add_permits(1);
        return line_conn(std::move(std::get<0>(next)));
      } catch (const std::system_error& e) {
        int err = e.code().value();
        if (err == ECONNABORTED) {  // the client gave up before we got to it
          unaccepted_.add_permits(1);
          continue;
        }
        if (err != EMFILE && err != ENFILE) throw;
        fmt::print(stderr, "fiber_bridge: accept: {}; retrying in {} ms\n", e.what(), backoff.count());
      }
      corio::await(corio::sleep(backoff));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }
  /// Makes accept() return nothing from now on (and wakes a pending one). Any thread.
  void close() { closing_.cancel(); }

 private:
  static corio::task<corio::net::tcp_stream> accept_one(corio::net::tcp_listener& l) { co_return co_await l.accept(); }
  static corio::task<void> wait_closed(corio::cancellation_token t) { co_await t.cancelled(); }

  corio::net::tcp_listener listener_;
  corio::net::socket_address address_;
  corio::cancellation_token closing_;
  static constexpr std::size_t max_unaccepted = 128;
  corio::semaphore unaccepted_{max_unaccepted};
};

// --------------------------------------------------------------------------------------------
// A callback-style legacy API, and the bridge that makes it a plain blocking call

/// Answers lookups on a thread of its own and reports each answer through a callback.
class legacy_service {
 public:
  using callback = void (*)(void* ctx, const char* value);

  legacy_service() : thread_([this] { run(); }) {}
  ~legacy_service() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void lookup_async(std::string key, callback cb, void* ctx) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back({std::move(key), cb, ctx});
    }
    cv_.notify_one();
  }

 private:
  struct request {
    std::string key;
    callback cb;
    void* ctx;
  };
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      request r = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      std::string value = "legacy:" + r.key;
      r.cb(r.ctx, value.c_str());
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<request> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the rest is ready
};

/// Blocks the calling fiber until the legacy service has answered.
std::string legacy_lookup(legacy_service& svc, const std::string& key) {
  struct pending {
    corio::notify done;
    std::string value;  // written by the callback before notify_one: published by it
  } p;
  svc.lookup_async(
      key,
      [](void* ctx, const char* value) {
        auto* q = static_cast<pending*>(ctx);
        q->value = value;
        q->done.notify_one();  // stores a permit if the fiber is not waiting yet
      },
      &p);
  corio::await(p.done.notified());
  return p.value;
}

// --------------------------------------------------------------------------------------------
// The protocol, as plain functions

using store = corio::mutex<std::map<std::string, std::string>>;

std::string handle(const std::string& line, store& kv, legacy_service& legacy) {
  std::istringstream in(line);
  std::string cmd, key, value;
  in >> cmd >> key >> value;
  if (cmd == "SET") {
    auto g = corio::await(kv.lock());
    (*g)[key] = value;
    return "OK";
  }
  if (cmd == "GET") {
    auto g = corio::await(kv.lock());
    auto it = g->find(key);
    return it == g->end() ? "NONE" : "VALUE " + it->second;
  }
  if (cmd == "LOOKUP") return "FOUND " + legacy_lookup(legacy, key);
  if (cmd == "WAIT") {
    corio::await(corio::sleep(std::chrono::milliseconds(std::atoi(key.c_str()))));
    return "DONE";
  }
  return "ERROR unknown command " + cmd;
}

void serve_connection(line_conn conn, store& kv, legacy_service& legacy) {
  while (std::optional<std::string> line = conn.read_line()) {
    if (*line == "QUIT") {
      conn.write_line("BYE");
      return;
    }
    conn.write_line(handle(*line, kv, legacy));
  }
}

void serve(line_listener& listener, store& kv, legacy_service& legacy) {
  while (std::optional<line_conn> conn = listener.accept()) {
    corio::spawn_fiber([c = std::move(*conn), &kv, &legacy]() mutable {
      try {
        serve_connection(std::move(c), kv, legacy);
      } catch (const std::exception& e) {
        report("server connection", e);
      }
    }).detach();
  }
}

/// Asks `conn` one question and checks the answer; returns 1 if it was the expected one.
int exchange(line_conn& conn, const std::string& request, const std::string& expected) {
  conn.write_line(request);
  std::optional<std::string> reply = conn.read_line();
  return reply && *reply == expected ? 1 : 0;
}

/// One client session; returns how many of its exchanges got the expected answer.
int run_client(line_conn conn, int id) {
  const std::string key = fmt::format("k{}", id);
  int ok = 0;
  ok += exchange(conn, fmt::format("SET {} v{}", key, id), "OK");
  ok += exchange(conn, "GET " + key, fmt::format("VALUE v{}", id));
  ok += exchange(conn, "LOOKUP " + key, "FOUND legacy:" + key);
  ok += exchange(conn, fmt::format("WAIT {}", id % 5), "DONE");
  ok += exchange(conn, "GET nobody", "NONE");
  ok += exchange(conn, "QUIT", "BYE");
  return ok;
}

constexpr int exchanges_per_client = 6;

/// Two descriptors per client (both ends are ours), plus this many for the runtime (its rings
/// or epoll, wakeup and timer descriptors), the listener, stdio and the sanitizers' files.
constexpr rlim_t reserved_descriptors = 64;

/// Raises the soft descriptor limit to the hard one (the soft one is often 1024) and returns
/// the soft limit in force afterwards.
rlim_t raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  // An unlimited hard limit still stops at fs.nr_open (2^20 by default).
  const rlim_t target = lim.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_max;
  if (lim.rlim_cur < target) {
    rlimit raised = lim;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      lim = raised;
    else
      fmt::print(stderr, "fiber_bridge: cannot raise the descriptor limit to {}: {}\n", target,
                 std::generic_category().message(errno));
  }
  return lim.rlim_cur;
}

/// The demonstration: `clients` client fibers against one server; true if every exchange got
/// the expected answer.
bool run(unsigned long clients, std::uint16_t port, unsigned threads) {
  legacy_service legacy;  // outlives the runtime: its callbacks may still be running
  store kv;
  line_listener listener(port);
  // Each client connects, then waits for all the others (a client whose connect failed counts
  // too), so every connection is open before the sessions start. Declared before the runtime:
  // a fiber still waiting on it when the runtime shuts down unlinks from it then.
  corio::latch all_connected(clients);
  std::atomic<unsigned long> connected{0};
  auto builder = corio::runtime::builder();
  if (threads != 0) builder.worker_threads(threads);
  corio::runtime rt = builder.build();
  fmt::print("fiber_bridge: listening on {}, {} clients\n", listener.address().to_string(), clients);
  std::fflush(stdout);

  auto started = std::chrono::steady_clock::now();
  auto server = corio::spawn_fiber(rt, [&] { serve(listener, kv, legacy); });
  std::vector<corio::join_handle<int>> sessions;
  sessions.reserve(clients);
  for (unsigned long i = 0; i < clients; ++i) {
    sessions.push_back(corio::spawn_fiber(rt, [&listener, &all_connected, &connected, i] {
      std::optional<line_conn> conn;
      try {
        conn.emplace(listener.connect());
        connected.fetch_add(1, std::memory_order_relaxed);
      } catch (const std::exception& e) {
        report("connect", e);
      }
      corio::await(all_connected.arrive_and_wait());
      if (!conn) return 0;
      try {
        return run_client(std::move(*conn), static_cast<int>(i));
      } catch (const std::exception& e) {
        report("client", e);
        return 0;
      }
    }));
  }

  // A fiber gathers the results, with the same blocking-style calls; run() blocks on it with
  // corio::await, which on a plain thread runs the wait on a small runtime of its own.
  auto total = corio::spawn_fiber(rt, [&] {
    long ok = 0;
    for (auto& s : sessions) ok += corio::await(s);
    listener.close();  // the server's accept() then returns nothing and serve() ends
    return ok;
  });
  long ok = corio::await(total);
  corio::await(server);
  auto took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);

  const long expected = static_cast<long>(clients) * exchanges_per_client;
  corio::runtime_metrics m = rt.metrics();
  fmt::print("fiber_bridge: {} clients, {} TCP connections open at once, {} of {} exchanges answered as expected\n",
             clients, connected.load(), ok, expected);
  fmt::print("fiber_bridge: {} fibers on {} workers ({} switches into fibers), {:.0f} ms\n", m.fibers_started,
             m.workers, m.fiber_resumes, took.count());
  return ok == expected;
}

}  // namespace

int main(int argc, char** argv) {
  examples::args args(argc, argv);
  unsigned long clients = args.number("clients", 2000);
  const unsigned long port = args.number("port", 0);
  const unsigned long threads = args.number("threads", 0);
  if (clients == 0 || clients > 100000 || port > 65535 || threads > 1024) {
    fmt::print(stderr, "usage: fiber_bridge [--clients 1..100000] [--port P] [--threads K]\n");
    return 2;
  }
  const rlim_t fd_limit = raise_descriptor_limit();
  const unsigned long max_clients = fd_limit > reserved_descriptors + 2 ? (fd_limit - reserved_descriptors) / 2 : 0;
  if (max_clients == 0) {
    fmt::print(stderr, "fiber_bridge: a descriptor limit of {} leaves no room for a connection\n", fd_limit);
    return 1;
  }
  if (clients > max_clients) {
    fmt::print(stderr,
               "fiber_bridge: the descriptor limit is {} (hard limit, two per client): running {} clients "
               "instead of {}\n",
               fd_limit, max_clients, clients);
    clients = max_clients;
  }

  try {
    return run(clients, static_cast<std::uint16_t>(port), static_cast<unsigned>(threads)) ? 0 : 1;
  } catch (const std::exception& e) {  // e.g. --port taken
    fmt::print(stderr, "fiber_bridge: {}\n", e.what());
    return 1;
  }
}
