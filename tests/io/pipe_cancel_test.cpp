// Cancel safety of the descriptor streams' reads (fs::pipe_reader, fs::stdin_stream()): what a
// dropped read took from the kernel (bytes, the end of the stream, an error) is kept by the
// stream and returned by its next read or read_exact, in order. The first tests fill a stash
// by hand, so the order is checked deterministically; the others make reads lose selects
// (with io_uring a read that loses often completes in the kernel anyway). The long runs
// (200,000 bytes against a busy channel) are in runtime/select_test.cpp, "cancel safety: ...".

#include <doctest/doctest.h>
#include <corio/io/buffered_reader.hpp>
#include <corio/io/fs.hpp>

#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "../../runtime/detail/fault.hpp"
#include "../../io/detail/stream_ops.hpp"
#include "support/fds.hpp"
#include "support/runtimes.hpp"

using namespace corio;

namespace {

/// Awaits `op`, returning what it read ("<eof>" at the end) or "<errno N>".
template <class Op>
task<std::string> outcome(Op op, char* buf) {
  try {
    std::size_t n = co_await std::move(op);
    co_return n ? std::string(buf, n) : std::string("<eof>");
  } catch (const std::system_error& e) {
    co_return "<errno " + std::to_string(e.code().value()) + ">";
  }
}

}  // namespace

TEST_SUITE("pipe_cancel") {
  TEST_CASE("a pipe read answers from the stash first: kept bytes in order, then the pipe's; read_exact too") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      detail::read_stash st;
      st.keep(3, "abc");  // two dropped reads, in the order the kernel completed them
      st.keep(2, "de");
      co_await wr.write_all("fghij");
      const int fd = rd.native_handle();
      char buf[16];
      std::size_t n = co_await detail::fd_read(fd, "pipe", buf, 2, &st);
      CHECK(std::string(buf, n) == "ab");
      co_await detail::fd_read_exact(fd, "pipe", buf, 5, &st);  // the 3 kept bytes, then the pipe
      CHECK(std::string(buf, 5) == "cdefg");
      CHECK(st.empty());
      n = co_await detail::fd_read(fd, "pipe", buf, sizeof buf, &st);
      CHECK(std::string(buf, n) == "hij");
    }());
  }

  TEST_CASE("a kept end of stream: the next read returns 0, read_exact throws unexpected_eof with what came") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      const int fd = rd.native_handle();
      detail::read_stash st;
      st.keep(2, "xy");
      st.keep(0, nullptr);
      char buf[8];
      std::size_t n = co_await detail::fd_read(fd, "pipe", buf, sizeof buf, &st);
      CHECK(std::string(buf, n) == "xy");
      n = co_await detail::fd_read(fd, "pipe", buf, sizeof buf, &st);
      CHECK(n == 0);
      st.keep(1, "z");
      st.keep(0, nullptr);
      try {
        co_await detail::fd_read_exact(fd, "pipe", buf, 4, &st);
        FAIL("read_exact past a kept end of stream returned");
      } catch (const unexpected_eof& e) {
        CHECK(e.got() == 1);
        CHECK(buf[0] == 'z');
        CHECK(std::string(e.what()).find("read_exact pipe") != std::string::npos);
      }
      CHECK(st.empty());
      wr.close();  // the pipe's own end: the kernel says it from now on
      n = co_await detail::fd_read(fd, "pipe", buf, sizeof buf, &st);
      CHECK(n == 0);
    }());
  }

  TEST_CASE("a kept error is thrown once by the next read, naming the stream; the pipe's bytes follow") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      const int fd = rd.native_handle();
      detail::read_stash st;
      st.keep(-EIO, nullptr);
      co_await wr.write_all("ok");
      char buf[8];
      try {
        (void)co_await detail::fd_read(fd, "pipe", buf, sizeof buf, &st);
        FAIL("the kept error was not thrown");
      } catch (const std::system_error& e) {
        CHECK(e.code().value() == EIO);
        CHECK(std::string(e.what()).find("read pipe") != std::string::npos);
      }
      st.keep(-EIO, nullptr);  // read_exact meets it too
      CHECK(co_await outcome(detail::fd_read(fd, "pipe", buf, 0, &st), buf) == "<errno 5>");
      co_await detail::fd_read_exact(fd, "pipe", buf, 2, &st);
      CHECK(std::string(buf, 2) == "ok");
    }());
  }

  TEST_CASE("a closed pipe fails with EBADF at once, before anything kept") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      detail::read_stash st;
      st.keep(3, "abc");
      char buf[8];
      CHECK(co_await outcome(detail::fd_read(-1, "pipe", buf, sizeof buf, &st), buf) == "<errno 9>");
      CHECK(!st.empty());  // untouched
      fs::pipe_reader closed;
      CHECK(co_await outcome(closed.read(buf, sizeof buf), buf) == "<errno 9>");
      auto [rd, wr] = fs::pipe();
      rd.close();
      CHECK(co_await outcome(rd.read(buf, sizeof buf), buf) == "<errno 9>");
    }());
  }

  TEST_CASE("pipe_reader: a read that completes as it loses a select leaves its bytes to the next read") {
    for (int mode = 0; mode < 4; ++mode) {
      CAPTURE(mode);
      auto rt = test::multi();
      rt.block_on([](int mode) -> task<void> {
        auto [rd, wr] = fs::pipe();
        co_await wr.write_all("hello, world");
        char buf[5];
        std::string seen;
        for (int round = 0; round < 2; ++round) {  // each may lose, its bytes kept
          auto r = co_await select(rd.read(buf, sizeof buf), yield_now());
          if (r.index() == 0) seen.append(buf, std::get<0>(r));
        }
        char rest[32] = {};
        if (mode == 0) {  // read_exact takes the kept bytes first
          std::size_t want = 12 - seen.size();
          co_await rd.read_exact(rest, want);
          seen.append(rest, want);
        } else if (mode == 1) {  // a moved reader keeps them
          fs::pipe_reader moved = std::move(rd);
          while (seen.size() < 12) seen.append(rest, co_await moved.read(rest, sizeof rest));
        } else if (mode == 2) {  // a one-byte read takes one kept byte at a time
          while (seen.size() < 12) seen.append(rest, co_await rd.read(rest, 1));
        } else {  // through a buffered_reader
          buffered_reader in(rd);
          while (seen.size() < 12) seen.append(rest, co_await in.read(rest, sizeof rest));
        }
        CHECK(seen == "hello, world");
      }(mode));
    }
  }

  TEST_CASE("pipe_reader: the end of the stream met by a losing read is returned by the next read") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      co_await wr.write_all("ab");
      wr.close();
      char buf[8];
      std::string seen;
      for (int round = 0; round < 4 && seen.find("<eof>") == std::string::npos; ++round) {
        auto r = co_await select(rd.read(buf, sizeof buf), yield_now());
        if (r.index() == 0) seen += std::get<0>(r) ? std::string(buf, std::get<0>(r)) : std::string("<eof>");
      }
      while (seen.find("<eof>") == std::string::npos) seen += co_await outcome(rd.read(buf, sizeof buf), buf);
      CHECK(seen == "ab<eof>");
      CHECK(co_await rd.read(buf, sizeof buf) == 0);  // and the pipe stays at the end
    }());
  }

  TEST_CASE("pipe_reader: an error met by a losing read is thrown by the next read, once") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      co_await wr.write_all("ok");
      char buf[8];
      std::string seen;
      {
        detail::fault::armed eio(detail::fault::rule::result(detail::io_kind::read, -EIO).times(1));
        for (int round = 0; round < 3; ++round) {
          try {
            auto r = co_await select(rd.read(buf, sizeof buf), yield_now());
            if (r.index() == 0) seen += std::string(buf, std::get<0>(r));
          } catch (const std::system_error& e) {  // epoll: the read ran at once and failed
            seen += "<errno " + std::to_string(e.code().value()) + ">";
          }
        }
      }
      while (seen.find("ok") == std::string::npos) seen += co_await outcome(rd.read(buf, sizeof buf), buf);
      CHECK(seen == "<errno 5>ok");  // the error once, in its place, then the bytes
    }());
  }

  TEST_CASE("stdin: what a dropped read kept is returned by the next read of any copy, in order") {
    auto [rd, wr] = fs::pipe();
    test::redirect in(STDIN_FILENO, rd.native_handle());
    rd.close();
    auto rt = test::multi();
    rt.block_on([](fs::pipe_writer& wr) -> task<void> {
      detail::stdin_stash().keep(4, "kept");  // as a dropped read of stdin leaves it
      co_await wr.write_all(" then the pipe");
      wr.close();
      fs::stdio_reader a = fs::stdin_stream();
      fs::stdio_reader b = a;  // a copy, on another task
      char buf[32];
      std::size_t n = co_await a.read(buf, 2);
      CHECK(std::string(buf, n) == "ke");
      std::string rest = co_await spawn([](fs::stdio_reader b) -> task<std::string> {
        char buf[32];
        co_await b.read_exact(buf, 6);  // "pt", then the pipe's
        co_return std::string(buf, 6);
      }(b));
      CHECK(rest == "pt the");
      std::string tail;
      for (;;) {
        std::size_t k = co_await a.read(buf, sizeof buf);
        if (k == 0) break;
        tail.append(buf, k);
      }
      CHECK(tail == "n the pipe");
    }(wr));
    CHECK(detail::stdin_stash().empty());
  }

  TEST_CASE("stdin: reads losing selects, then the end of the stream, through the shared stash") {
    auto [rd, wr] = fs::pipe();
    test::redirect in(STDIN_FILENO, rd.native_handle());
    rd.close();
    auto rt = test::multi();
    rt.block_on([](fs::pipe_writer& wr) -> task<void> {
      co_await wr.write_all("hello, stdin");
      wr.close();
      char buf[5];
      std::string seen;
      for (int round = 0; round < 8 && seen.find("<eof>") == std::string::npos; ++round) {
        auto r = co_await select(fs::stdin_stream().read(buf, sizeof buf), yield_now());
        if (r.index() == 0) seen += std::get<0>(r) ? std::string(buf, std::get<0>(r)) : std::string("<eof>");
      }
      auto in = fs::stdin_stream();
      while (seen.find("<eof>") == std::string::npos) seen += co_await outcome(in.read(buf, sizeof buf), buf);
      CHECK(seen == "hello, stdin<eof>");
    }(wr));
    CHECK(detail::stdin_stash().empty());  // the end was reported once, not left for the next stdin
  }
}
