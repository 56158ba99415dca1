// The reactors under injected faults (runtime/detail/fault.hpp) and real ones: peer resets in the
// middle of a write, short transfers, EINTR storms, a completion queue that overflows and an
// io_uring_enter that answers -EBUSY. Backend-generic unless a test says otherwise; the suite
// runs under CORIO_BACKEND=uring and =epoll, and again under a seccomp filter that forbids
// io_uring (process_fault_test.cpp).

#include <doctest/doctest.h>
#include <corio/io/fs.hpp>
#include <corio/io/net.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "../../runtime/detail/fault.hpp"
#include "support/fds.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace corio::net;
using namespace std::chrono_literals;
namespace fault = corio::detail::fault;
using detail::io_kind;

namespace {

std::uint64_t fnv1a(const char* p, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  return h;
}

std::vector<char> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<char> v(n);
  for (char& c : v) c = static_cast<char>(rng());
  return v;
}

/// A connected loopback TCP pair.
task<std::pair<tcp_stream, tcp_stream>> tcp_pair() {
  auto l = tcp_listener::bind({"127.0.0.1", 0});
  auto accepting = spawn([](tcp_listener& l) -> task<tcp_stream> { co_return co_await l.accept(); }(l));
  tcp_stream c = co_await tcp_stream::connect(l.local_address());
  tcp_stream s = co_await accepting;
  co_return std::pair{std::move(c), std::move(s)};
}

/// Sends `data` with write_all in pieces of up to `piece` bytes while the other side reads it
/// with read_exact in pieces of another size; returns the hash of what arrived.
template <class Writer, class Reader>
task<std::uint64_t> transfer(Writer& w, Reader& r, const std::vector<char>& data, std::size_t piece) {
  auto sender = spawn([](Writer& w, const std::vector<char>& d, std::size_t piece) -> task<void> {
    for (std::size_t off = 0; off < d.size(); off += piece)
      co_await w.write_all(d.data() + off, std::min(piece, d.size() - off));
  }(w, data, piece));
  std::vector<char> got(data.size());
  std::size_t rpiece = piece / 3 + 1;
  for (std::size_t off = 0; off < got.size(); off += rpiece)
    co_await r.read_exact(got.data() + off, std::min(rpiece, got.size() - off));
  co_await sender;
  co_return fnv1a(got.data(), got.size());
}

/// An operation driven by hand on a bare reactor, counting its completions.
struct counting_op : detail::io_op {
  int calls = 0;
  int res = 0;
  counting_op() {
    complete = [](detail::io_completion* self, int res, unsigned) noexcept {
      auto* op = static_cast<counting_op*>(static_cast<detail::io_op*>(self));
      ++op->calls;
      op->res = res;
    };
  }
};

/// Starts `n` operations that the kernel completes at once (poll on a readable eventfd, read
/// of /dev/zero) on a bare reactor of `kind` and drives it until every one has completed;
/// checks that each completed exactly once with its real result.
void flood(detail::backend_kind kind, int n) {
  int efd = ::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  REQUIRE(efd >= 0);
  REQUIRE(zero >= 0);
  std::unique_ptr<detail::reactor> r;
  try {
    r = detail::make_reactor(kind, false);
  } catch (const std::system_error& e) {  // io_uring forbidden (process_fault_test.cpp)
    MESSAGE(std::string(detail::to_string(kind)), " unavailable (", e.what(), "): not flooded");
  }
  if (r) {
    std::vector<counting_op> ops(static_cast<std::size_t>(n));
    std::vector<char> bufs(static_cast<std::size_t>(n) * 8);
    int done_at_once = 0;
    for (int i = 0; i < n; ++i) {
      detail::io_request& q = ops[i].req;
      if (i % 2) {
        q.kind = io_kind::poll;
        q.fd = efd;
        q.flags = POLLIN;
      } else {
        q.kind = io_kind::read;
        q.fd = zero;
        q.buf = bufs.data() + i * 8;
        q.len = 8;
      }
      int res = 0;
      if (r->start(&ops[i], &res)) {
        ++ops[i].calls;
        ops[i].res = res;
        ++done_at_once;
      }
    }
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (r->completed() < r->submitted() && std::chrono::steady_clock::now() < deadline) r->park(10ms);
    CHECK(r->submitted() == static_cast<std::uint64_t>(n));
    CHECK(r->completed() == r->submitted());
    int wrong = 0, not_once = 0;
    for (int i = 0; i < n; ++i) {
      not_once += ops[i].calls != 1;
      wrong += i % 2 ? !(ops[i].res & POLLIN) : ops[i].res != 8;
    }
    CHECK(not_once == 0);
    CHECK(wrong == 0);
    MESSAGE(std::string(detail::to_string(kind)), ": ", n, " operations, ", done_at_once, " completed at once");
    r.reset();
  }
  ::close(efd);
  ::close(zero);
}

/// Whether this process may create an io_uring (not under a seccomp filter forbidding it).
bool uring_available() {
  try {
    detail::make_reactor(detail::backend_kind::uring, false);
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

/// Counts SIGALRMs; installed without SA_RESTART, so every blocking call they hit fails EINTR.
std::atomic<long> alarms{0};
extern "C" void on_alarm(int) { alarms.fetch_add(1, std::memory_order_relaxed); }

/// A 1 kHz SIGALRM for its lifetime.
struct alarm_storm {
  struct sigaction old {};
  alarm_storm() {
    struct sigaction sa {};
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART
    ::sigaction(SIGALRM, &sa, &old);
    itimerval it{{0, 1000}, {0, 1000}};
    ::setitimer(ITIMER_REAL, &it, nullptr);
  }
  ~alarm_storm() {
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &old, nullptr);
  }
};

}  // namespace

TEST_SUITE("reactor_fault") {
  TEST_CASE("1. a peer reset in the middle of a write: an error, no SIGPIPE, the descriptor closed once") {
    // SIGPIPE at its default action: a send without MSG_NOSIGNAL would kill the test.
    auto old_pipe = std::signal(SIGPIPE, SIG_DFL);
    int before = test::open_fds();
    int reused = -1;
    {
      auto rt = test::multi();
      reused = rt.block_on([]() -> task<int> {
        auto [client, server] = co_await tcp_pair();
        int client_fd = client.native_handle();
        // A writer that fills the socket buffers and then waits inside a write...
        std::atomic<bool> failed{false};
        int err = 0;
        auto writer = spawn([](tcp_stream& c, std::atomic<bool>& failed, int& err) -> task<void> {
          std::vector<char> big(1 << 20, 'w');
          try {
            for (;;) co_await c.write_all(big.data(), big.size());
          } catch (const std::system_error& e) {
            err = e.code().value();
            failed = true;
          }
        }(client, failed, err));
        // ... until the peer reads a little and resets the connection (SO_LINGER {1, 0}).
        char buf[4096];
        std::size_t got = 0;
        while (got < 64 * 1024) got += co_await server.read(buf, sizeof buf);
        ::linger lg{1, 0};
        ::setsockopt(server.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        server.close();
        co_await writer;
        CHECK(failed.load());
        CHECK((err == ECONNRESET || err == EPIPE));
        // The stream is still usable as an object: another write fails the same way.
        CHECK_THROWS_AS(co_await client.write("x", 1), std::system_error);
        client.close();
        // Closed exactly once: the number is free now; put another file there, which nothing
        // may close when the runtime goes away (checked by the caller).
        CHECK(::fcntl(client_fd, F_GETFD) < 0);
        int other = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(other >= 0);
        REQUIRE(::dup3(other, client_fd, O_CLOEXEC) == client_fd);
        ::close(other);
        co_return client_fd;
      }());
    }
    CHECK(::fcntl(reused, F_GETFD) >= 0);
    ::close(reused);
    CHECK(test::open_fds() == before);
    std::signal(SIGPIPE, old_pipe);
  }

  TEST_CASE("1. forged -ECONNRESET, -ENOMEM and -EPIPE surface as std::system_error; the stream stays usable") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [a, b] = co_await tcp_pair();
      char buf[16];
      {
        fault::armed reset(fault::rule::result(io_kind::recv, -ECONNRESET).times(1));
        try {
          (void)co_await a.read(buf, sizeof buf);
          FAIL("the forged reset was not reported");
        } catch (const std::system_error& e) {
          CHECK(e.code().value() == ECONNRESET);
          CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);  // names the addresses
        }
        CHECK(reset.fired() == 1);
      }
      {
        fault::armed nomem(fault::rule::result(io_kind::send, -ENOMEM).times(1));
        try {
          co_await b.write_all("hello", 5);
          FAIL("the forged ENOMEM was not reported");
        } catch (const std::system_error& e) {
          CHECK(e.code().value() == ENOMEM);
        }
      }
      {
        fault::armed epipe(fault::rule::result(io_kind::send, -EPIPE).times(1));
        CHECK_THROWS_AS(co_await b.write("x", 1), std::system_error);
      }
      co_await b.write_all("hello", 5);
      co_await a.read_exact(buf, 5);
      CHECK(std::string(buf, 5) == "hello");
    }());
  }

  TEST_CASE("2. short sends and receives: write_all and read_exact move exactly the bytes (hash)") {
    const std::size_t n = static_cast<std::size_t>(test::scaled(1 << 20));
    auto data = random_bytes(n, 7);
    std::uint64_t want = fnv1a(data.data(), data.size());
    auto rt = test::multi();
    rt.block_on([](const std::vector<char>& data, std::uint64_t want) -> task<void> {
      // Every send and recv moves at most 7 bytes; every 5th at most 1.
      fault::armed tiny(fault::rule::short_transfer(1).every(5));
      fault::armed small(fault::rule::short_transfer(7));
      auto [a, b] = co_await tcp_pair();
      CHECK(co_await transfer(a, b, data, 4096) == want);
      CHECK(co_await transfer(b, a, data, 100'000) == want);
      auto [rd, wr] = fs::pipe();  // read/write rather than recv/send
      CHECK(co_await transfer(wr, rd, data, 65536) == want);
      CHECK(tiny.fired() > 0);
      CHECK(small.fired() > 0);
    }(data, want));
  }

  TEST_CASE("9. an EINTR storm (1 kHz SIGALRM) during I/O is retried transparently") {
    const std::size_t n = static_cast<std::size_t>(test::scaled(4 << 20));
    auto data = random_bytes(n, 9);
    std::uint64_t want = fnv1a(data.data(), data.size());
    alarms = 0;
    auto rt = test::multi();
    alarm_storm storm;
    rt.block_on([](const std::vector<char>& data, std::uint64_t want) -> task<void> {
      auto [a, b] = co_await tcp_pair();
      // Many small transfers, so that the workers park (and are interrupted) often.
      for (int round = 0; round < 4; ++round) CHECK(co_await transfer(a, b, data, 1024) == want);
      auto [rd, wr] = fs::pipe();
      CHECK(co_await transfer(wr, rd, data, 512) == want);
      co_await sleep(20ms);  // a timer wait in a parked worker, interrupted too
    }(data, want));
    CHECK(alarms.load() > 0);
    MESSAGE(alarms.load(), " SIGALRMs during the transfers");
  }

  TEST_CASE("9. forged -EINTR from operations and from io_uring_enter/epoll_wait is retried transparently") {
    const std::size_t n = static_cast<std::size_t>(test::scaled(256 * 1024));
    auto data = random_bytes(n, 10);
    std::uint64_t want = fnv1a(data.data(), data.size());
    auto rt = test::multi();
    rt.block_on([](const std::vector<char>& data, std::uint64_t want) -> task<void> {
      fault::armed ops(fault::rule::result(-EINTR).every(2));
      fault::armed enter(fault::rule::enter(-EINTR).every(3));
      auto [a, b] = co_await tcp_pair();
      CHECK(co_await transfer(a, b, data, 1000) == want);
      auto [rd, wr] = fs::pipe();
      CHECK(co_await transfer(wr, rd, data, 3000) == want);
      co_await sleep(5ms);
      CHECK(ops.fired() > 0);
      CHECK(enter.fired() > 0);
    }(data, want));
  }

  TEST_CASE("10. every operation completes exactly once: bare reactors, both backends") {
    const int n = static_cast<int>(test::scaled(20'000));
    flood(detail::backend_kind::epoll, n);
    flood(detail::backend_kind::uring, n);
    SUBCASE("under forged -EINTR results, a full submission queue and -EBUSY from io_uring_enter") {
      fault::armed eintr(fault::rule::result(-EINTR).every(3));
      fault::armed full(fault::rule::sq_full().every(4));
      fault::armed busy(fault::rule::enter(-EBUSY).every(2));
      flood(detail::backend_kind::epoll, n);
      flood(detail::backend_kind::uring, n);
      CHECK(eintr.fired() > 0);
      if (uring_available()) {  // points of the io_uring backend only
        CHECK(full.fired() > 0);
        CHECK(busy.fired() > 0);
      }
    }
    SUBCASE("with a completion queue of 4 entries that overflows (io_uring)") {
      fault::armed tiny(fault::rule::tiny_cq(4));
      fault::armed busy(fault::rule::enter(-EBUSY).every(5));
      flood(detail::backend_kind::uring, n);
      CHECK(tiny.fired() == 1);
    }
  }

  TEST_CASE("10. a runtime whose rings overflow and whose io_uring_enter answers -EBUSY loses nothing") {
    if (detail::default_backend() != detail::backend_kind::uring) {
      MESSAGE("io_uring only (the epoll backend has no rings); skipped under ", std::string(detail::to_string(detail::default_backend())));
      return;
    }
    const int pairs = static_cast<int>(test::scaled(500)), rounds = 20;
    fault::armed tiny(fault::rule::tiny_cq(4));
    fault::armed busy(fault::rule::enter(-EBUSY).every(7));
    fault::armed full(fault::rule::sq_full().every(5));
    auto rt = test::multi();
    long total = rt.block_on([](int pairs, int rounds) -> task<long> {
      std::vector<task<long>> pingers;
      for (int p = 0; p < pairs; ++p)
        pingers.push_back([](int p, int rounds) -> task<long> {
          auto [a, b] = unix_stream::pair();
          long ok = 0;
          for (int r = 0; r < rounds; ++r) {
            std::string msg = std::to_string(p * 1000 + r);
            auto echo = spawn([](unix_stream& b, std::size_t len) -> task<void> {
              std::string m(len, '\0');
              co_await b.read_exact(m.data(), len);
              co_await b.write_all(m);
            }(b, msg.size()));
            co_await a.write_all(msg);
            std::string back(msg.size(), '\0');
            co_await a.read_exact(back.data(), back.size());
            co_await echo;
            ok += back == msg;
          }
          co_return ok;
        }(p, rounds));
      long sum = 0;
      for (long v : co_await join_all(std::move(pingers))) sum += v;
      co_return sum;
    }(pairs, rounds));
    CHECK(total == long(pairs) * rounds);
    CHECK(tiny.fired() >= 2);  // one ring per worker
    CHECK(busy.fired() > 0);
    CHECK(rt.metrics().tasks_alive == 0);
  }
}
