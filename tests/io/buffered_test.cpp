// buffered_reader and buffered_writer over pipes, sockets and files: lines (split across
// reads, longer than the buffer, without a final newline, "\r\n"), the line length limit and
// recovering from it, mixed reads, read_exact at the end, bypassing the buffer, flush
// semantics, nesting, and errors coming through from the stream.

#include <doctest/doctest.h>
#include <corio/corio.hpp>
#include <corio/io/net.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "support/runtimes.hpp"

using namespace corio;

namespace {

/// A stream that hands out a script of chunks, one per read (to control how data is split),
/// and counts the reads it served.
struct scripted_stream {
  std::vector<std::string> chunks;
  std::size_t next = 0, offset = 0, reads = 0;

  task<std::size_t> read(void* data, std::size_t n) {
    ++reads;
    if (next == chunks.size()) co_return 0;
    const std::string& c = chunks[next];
    std::size_t k = std::min(n, c.size() - offset);
    std::memcpy(data, c.data() + offset, k);
    offset += k;
    if (offset == c.size()) {
      ++next;
      offset = 0;
    }
    co_return k;
  }
};

/// A sink that records each write_all it receives.
struct recording_sink {
  std::vector<std::string> writes;
  task<void> write_all(const void* data, std::size_t n) {
    writes.emplace_back(static_cast<const char*>(data), n);
    co_return;
  }
  std::string all() const {
    std::string s;
    for (auto& w : writes) s += w;
    return s;
  }
};

/// Whether a read on the non-blocking descriptor would find nothing.
bool pipe_is_empty(int fd) {
  char c;
  ssize_t n = ::read(fd, &c, 1);
  return n < 0 && errno == EAGAIN;
}

}  // namespace

TEST_SUITE("buffered_reader") {
  TEST_CASE("read_line: lines split across reads, a final line without a newline, 0 at the end") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      scripted_stream s{{"fir", "st\nsec", "ond\n\nthi", "rd"}};
      buffered_reader r(s);
      std::string line;
      std::size_t n = co_await r.read_line(line);
      CHECK(n == 6);
      CHECK(line == "first\n");
      line.clear();
      n = co_await r.read_line(line);
      CHECK(line == "second\n");
      line.clear();
      n = co_await r.read_line(line);
      CHECK(n == 1);
      CHECK(line == "\n");
      line.clear();
      n = co_await r.read_line(line);
      CHECK(n == 5);
      CHECK(line == "third");  // no newline at the end: returned as is
      line.clear();
      n = co_await r.read_line(line);
      CHECK(n == 0);
      CHECK(line.empty());
      n = co_await r.read_line(line);  // and again: still the end
      CHECK(n == 0);
    }());
  }

  TEST_CASE("read_line appends to what the string holds") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      scripted_stream s{{"a\nb\n"}};
      buffered_reader r(s);
      std::string acc = ">";
      std::size_t n1 = co_await r.read_line(acc);
      std::size_t n2 = co_await r.read_line(acc);
      CHECK(n1 == 2);
      CHECK(n2 == 2);
      CHECK(acc == ">a\nb\n");
    }());
  }

  TEST_CASE("read_until with another delimiter; next_line and lines() strip \\n and \\r\\n") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      scripted_stream s{{"key=value;other=x;", "tail"}};
      buffered_reader r(s);
      std::string field;
      std::size_t n = co_await r.read_until(';', field);
      CHECK(n == 10);
      CHECK(field == "key=value;");
      field.clear();
      n = co_await r.read_until(';', field);
      CHECK(field == "other=x;");
      field.clear();
      n = co_await r.read_until(';', field);
      CHECK(field == "tail");

      scripted_stream t{{"one\r\ntwo\n", "\r\nthree\r", "\nfour"}};
      buffered_reader lr(t);
      auto lines = lr.lines();
      std::vector<std::string> got;
      while (auto l = co_await lines.next_line()) got.push_back(*l);
      CHECK(got == std::vector<std::string>{"one", "two", "", "three", "four"});
      auto after = co_await lr.next_line();
      CHECK_FALSE(after.has_value());
    }());
  }

  TEST_CASE("lines much longer than the buffer") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      std::vector<std::string> sent;
      for (int i = 0; i < 50; ++i) sent.push_back(std::string(static_cast<std::size_t>(1 + i * 997), static_cast<char>('a' + i % 26)));
      auto writer = spawn([](fs::pipe_writer w, const std::vector<std::string>& sent) -> task<void> {
        for (auto& s : sent) {
          co_await w.write_all(s);
          co_await w.write_all("\n");
        }
        w.close();  // the end of the stream (the frame, with `w`, lives until joined)
      }(std::move(wr), sent));
      buffered_reader r(std::move(rd), 16);  // owns the reader; a tiny buffer
      CHECK(r.capacity() == 16);
      std::vector<std::string> got;
      while (auto l = co_await r.next_line()) got.push_back(std::move(*l));
      co_await writer;
      CHECK(got == sent);
    }());
  }

  TEST_CASE("maximum line length: line_too_long, bounded memory, and recovery with skip_until") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      std::string exact(100, 'e'), longer(250, 'L');
      scripted_stream s{{exact + "\n" + longer.substr(0, 30), longer.substr(30) + "\nafter\n", std::string(101, 'z')}};
      buffered_reader r(s, 32);
      r.set_max_line_length(100);
      CHECK(r.max_line_length() == 100);
      std::string line;
      std::size_t n = co_await r.read_line(line);  // exactly the limit (plus its newline): fine
      CHECK(n == 101);
      line.clear();
      try {
        co_await r.read_line(line);
        FAIL("no error");
      } catch (const line_too_long& e) {
        CHECK(e.limit() == 100);
        CHECK(std::string(e.what()).find("100") != std::string::npos);
      }
      CHECK(line == longer.substr(0, 100));  // what was taken, and no more
      std::size_t skipped = co_await r.skip_until('\n');
      CHECK(skipped == 151);
      auto next = co_await r.next_line();
      REQUIRE(next.has_value());
      CHECK(*next == "after");
      // A last line without a newline counts too.
      line.clear();
      CHECK_THROWS_AS(co_await r.read_line(line), line_too_long);
      CHECK(line.size() == 100);
      std::size_t rest = co_await r.skip_until('\n');
      CHECK(rest == 1);

      scripted_stream u{{std::string(5000, 'u') + "\n"}};
      buffered_reader unlimited(u, 64);
      unlimited.set_max_line_length(std::numeric_limits<std::size_t>::max());
      auto big = co_await unlimited.next_line();
      REQUIRE(big.has_value());
      CHECK(big->size() == 5000);
    }());
  }

  TEST_CASE("read, read_exact and lines mix; read_exact at the end reports what arrived") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      scripted_stream s{{"HEAD", "ER\nbody", "12345"}};
      buffered_reader r(s);
      std::string line;
      co_await r.read_line(line);
      CHECK(line == "HEADER\n");
      char buf[4];
      co_await r.read_exact(buf, 4);
      CHECK(std::string(buf, 4) == "body");
      std::size_t n = co_await r.read(buf, 2);
      CHECK(n == 2);
      CHECK(std::string(buf, 2) == "12");
      try {
        co_await r.read_exact(buf, 4);
        FAIL("no error");
      } catch (const unexpected_eof& e) {
        CHECK(e.got() == 3);
        CHECK(e.wanted() == 4);
      }
      n = co_await r.read(buf, 4);
      CHECK(n == 0);
    }());
  }

  TEST_CASE("large reads bypass the buffer; small ones are served from it") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      scripted_stream s{{std::string(100, 'a'), std::string(100, 'b')}};
      buffered_reader r(s, 64);
      std::string big(100, '\0');
      std::size_t n = co_await r.read(big.data(), big.size());  // >= capacity, nothing buffered
      CHECK(n == 100);
      CHECK(big == std::string(100, 'a'));
      CHECK(r.buffered().empty());
      char c;
      n = co_await r.read(&c, 1);  // fills 64 bytes, hands out one
      CHECK(n == 1);
      CHECK(r.buffered().size() == 63);
      std::size_t reads = s.reads;
      for (int i = 0; i < 63; ++i) co_await r.read(&c, 1);
      CHECK(s.reads == reads);  // all from the buffer
      n = co_await r.read(big.data(), 0);
      CHECK(n == 0);
    }());
  }

  TEST_CASE("fill_buf and consume") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      scripted_stream s{{"abcdef", "gh"}};
      buffered_reader r(s);
      auto view = co_await r.fill_buf();
      CHECK(std::string(view.data(), view.size()) == "abcdef");
      r.consume(4);
      view = co_await r.fill_buf();
      CHECK(std::string(view.data(), view.size()) == "ef");
      r.consume(100);  // clamped
      view = co_await r.fill_buf();
      CHECK(std::string(view.data(), view.size()) == "gh");
      r.consume(2);
      view = co_await r.fill_buf();
      CHECK(view.empty());
    }());
  }

  TEST_CASE("over a TCP stream, a split half, a unix stream and a file") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto l = net::tcp_listener::bind({"127.0.0.1", 0});
      auto client = co_await net::tcp_stream::connect(l.local_address());
      auto server = co_await l.accept();
      co_await server.write_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      buffered_reader r(client);  // borrowed
      std::vector<std::string> head;
      for (;;) {
        auto line = co_await r.next_line();
        REQUIRE(line.has_value());
        if (line->empty()) break;
        head.push_back(*line);
      }
      CHECK(head == std::vector<std::string>{"GET / HTTP/1.1", "Host: x"});
      CHECK(client.is_open());

      auto [rd, wr] = std::move(server).split();
      buffered_writer w(std::move(wr));
      co_await w.write("pong\n");
      co_await w.flush();
      std::string line;
      co_await r.read_line(line);
      CHECK(line == "pong\n");

      auto [a, b] = net::unix_stream::pair();
      co_await a.write_all("u1\nu2\n");
      a.close();
      buffered_reader ur(std::move(b));
      auto u1 = co_await ur.next_line();
      auto u2 = co_await ur.next_line();
      auto u3 = co_await ur.next_line();
      CHECK(*u1 == "u1");
      CHECK(*u2 == "u2");
      CHECK_FALSE(u3.has_value());

      std::string tmpl = "/tmp/corio-buffered-XXXXXX";
      int fd = ::mkstemp(tmpl.data());
      REQUIRE(fd >= 0);
      ::close(fd);
      {
        fs::file f = co_await fs::file::create(tmpl);
        buffered_writer fw(f);
        for (int i = 0; i < 1000; ++i) co_await fw.write(std::to_string(i) + "\n");
        co_await fw.flush();
      }
      fs::file f = co_await fs::file::open(tmpl);
      buffered_reader fr(std::move(f), 100);
      int count = 0;
      bool in_order = true;
      while (auto l = co_await fr.next_line()) in_order = in_order && *l == std::to_string(count++);
      CHECK(count == 1000);
      CHECK(in_order);
      std::filesystem::remove(tmpl);
    }());
  }

  TEST_CASE("errors of the stream come through") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      fs::pipe_reader closed;
      buffered_reader r(closed);
      std::string line;
      try {
        co_await r.read_line(line);
        FAIL("no error");
      } catch (const std::system_error& e) {
        CHECK(e.code().value() == EBADF);
      }
      CHECK_THROWS_AS(buffered_reader<scripted_stream>(scripted_stream{}, 0), std::invalid_argument);
    }());
  }

  TEST_CASE("a buffered_reader over a buffered_reader") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      scripted_stream s{{"x\ny", "\nz"}};
      buffered_reader inner(s, 2);
      buffered_reader outer(inner, 3);
      std::vector<std::string> got;
      while (auto l = co_await outer.next_line()) got.push_back(*l);
      CHECK(got == std::vector<std::string>{"x", "y", "z"});
    }());
  }
}

TEST_SUITE("buffered_writer") {
  TEST_CASE("small writes wait in the buffer until flush; order is kept") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      buffered_writer w(wr, 64);
      co_await w.write("hello ");
      co_await w.write(std::string_view("world\n"));
      CHECK(w.buffered().size() == 12);
      CHECK(pipe_is_empty(rd.native_handle()));  // nothing written yet
      co_await w.flush();
      CHECK(w.buffered().empty());
      char buf[64];
      std::size_t n = co_await rd.read(buf, sizeof buf);
      CHECK(std::string(buf, n) == "hello world\n");
      co_await w.flush();  // nothing to do
      CHECK(pipe_is_empty(rd.native_handle()));
    }());
  }

  TEST_CASE("a full buffer is written out; large writes go straight through") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      recording_sink sink;
      buffered_writer w(sink, 10);
      co_await w.write("12345678");  // buffered
      CHECK(sink.writes.empty());
      co_await w.write("abc");       // does not fit: the 8 go out, "abc" waits
      CHECK(sink.writes == std::vector<std::string>{"12345678"});
      co_await w.write(std::string(25, 'B'));  // buffered part first, then the big one directly
      CHECK(sink.writes == std::vector<std::string>{"12345678", "abc", std::string(25, 'B')});
      co_await w.write("0123456789");  // exactly the capacity
      CHECK(w.buffered().size() == 10);
      co_await w.write("");
      co_await w.flush();
      CHECK(sink.all() == "12345678abc" + std::string(25, 'B') + "0123456789");
      std::vector<std::byte> raw{std::byte{1}, std::byte{2}};
      co_await w.write(std::span<const std::byte>(raw));
      co_await w.flush();
      CHECK(sink.writes.back() == std::string("\x01\x02"));
    }());
  }

  TEST_CASE("nested writers flush all the way down") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      recording_sink sink;
      buffered_writer inner(sink, 100);
      buffered_writer outer(inner, 4);
      co_await outer.write("ab");
      co_await outer.write("cdef");  // "ab" goes into `inner`, "cdef" waits in `outer`
      CHECK(sink.writes.empty());
      co_await outer.flush();
      CHECK(sink.all() == "abcdef");
    }());
  }

  TEST_CASE("a failing flush drops the buffer and reports the error; the writer stays usable") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      buffered_writer w(wr);
      co_await w.write("doomed");
      rd.close();
      try {
        co_await w.flush();
        FAIL("no error");
      } catch (const std::system_error& e) {
        CHECK(e.code().value() == EPIPE);
      }
      CHECK(w.buffered().empty());
      auto [rd2, wr2] = fs::pipe();
      buffered_writer w2(std::move(wr2));
      co_await w2.write("fine");
      co_await w2.flush();
      char buf[8];
      std::size_t n = co_await rd2.read(buf, sizeof buf);
      CHECK(std::string(buf, n) == "fine");
      CHECK_THROWS_AS(buffered_writer<recording_sink>(recording_sink{}, 0), std::invalid_argument);
    }());
  }

  TEST_CASE("a writer task and a reader task through a pipe") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      auto writer = spawn([](fs::pipe_writer p) -> task<void> {
        buffered_writer w(p, 1000);
        for (int i = 0; i < 20'000; ++i) co_await w.write("line " + std::to_string(i) + "\n");
        co_await w.flush();
        p.close();
      }(std::move(wr)));
      buffered_reader r(rd);
      int count = 0;
      bool in_order = true;
      while (auto l = co_await r.next_line()) in_order = in_order && *l == "line " + std::to_string(count++);
      co_await writer;
      CHECK(count == 20'000);
      CHECK(in_order);
    }());
  }
}
