// corio::fs: files (open options, cursor and positional I/O, fsync, metadata, close), the
// whole-file helpers, pipes (between tasks and between a thread and a task) and the standard
// streams; and every error path: ENOENT, EEXIST, EACCES, EISDIR, ENOTDIR, ESPIPE, EBADF, EPIPE,
// EINVAL, unexpected_eof.

#include <doctest/doctest.h>
#include <corio/io/fs.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/fds.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using namespace std::chrono_literals;

namespace {

/// A fresh directory under /tmp, removed with everything in it at the end of the test.
struct temp_dir {
  std::string path;
  temp_dir() {
    std::string tmpl = "/tmp/corio-fs-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
    ::chmod(path.c_str(), 0755);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

/// Awaits `a` (a task or an awaitable) and checks that it fails with std::system_error(err)
/// whose message contains `needle`.
template <class A>
task<void> expect_error(A a, int err, std::string needle = {}) {
  bool threw = false;
  try {
    co_await std::move(a);
  } catch (const std::system_error& e) {
    threw = true;
    CHECK_MESSAGE(e.code().value() == err, e.what());
    if (!needle.empty()) CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
  }
  CHECK_MESSAGE(threw, "expected errno ", err);
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

using test::redirect;

/// Blocking helpers for a plain thread on a non-blocking descriptor.
void thread_write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EAGAIN) {
      pollfd pfd{fd, POLLOUT, 0};
      ::poll(&pfd, 1, -1);
      continue;
    }
    REQUIRE(k > 0);
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}
std::string thread_read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t k = ::read(fd, buf, sizeof buf);
    if (k < 0 && errno == EAGAIN) {
      pollfd pfd{fd, POLLIN, 0};
      ::poll(&pfd, 1, -1);
      continue;
    }
    REQUIRE(k >= 0);
    if (k == 0) return out;
    out.append(buf, static_cast<std::size_t>(k));
  }
}

}  // namespace

TEST_SUITE("fs") {
  TEST_CASE("create, write and read back through the cursor") {
    temp_dir d;
    auto rt = test::multi();
    rt.block_on([](std::string path) -> task<void> {
      fs::file f = co_await fs::file::open(path, fs::open_options().read().write().create());
      CHECK(f.is_open());
      CHECK(f.path() == path);
      CHECK(f.position() == 0);
      std::string data = pattern(100'000);
      co_await f.write_all(data);
      CHECK(f.position() == data.size());
      std::size_t n = co_await f.write("!");
      CHECK(n == 1);
      CHECK(f.position() == data.size() + 1);

      f.seek(0);
      std::string back(data.size(), '\0');
      co_await f.read_exact(back.data(), back.size());
      CHECK(back == data);
      char c = 0;
      n = co_await f.read(&c, 1);
      CHECK(n == 1);
      CHECK(c == '!');
      n = co_await f.read(&c, 1);  // end of file
      CHECK(n == 0);
      CHECK(f.position() == data.size() + 1);

      f.seek(10);
      char buf[5];
      n = co_await f.read(std::span<char>(buf));
      CHECK(n == 5);
      CHECK(std::string(buf, 5) == data.substr(10, 5));
      co_await f.close();
      CHECK_FALSE(f.is_open());
    }(d / "a.txt"));
  }

  TEST_CASE("read_at and write_at use their offsets, leave the cursor, and read short at the end") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      fs::file f = co_await fs::file::open(path, fs::open_options().read().write().create_new());
      std::size_t n = co_await f.write_at("hello world", 11, 0);
      CHECK(n == 11);
      n = co_await f.write_at(std::string_view("WORLD"), 6);
      CHECK(n == 5);
      CHECK(f.position() == 0);
      char buf[64] = {};
      n = co_await f.read_at(buf, sizeof buf, 0);  // short: only 11 bytes exist
      CHECK(n == 11);
      CHECK(std::string(buf, n) == "hello WORLD");
      n = co_await f.read_at(buf, sizeof buf, 9);
      CHECK(n == 2);
      n = co_await f.read_at(buf, sizeof buf, 11);
      CHECK(n == 0);
      n = co_await f.read_at(buf, sizeof buf, 1'000'000);
      CHECK(n == 0);
      // Writing past the end leaves a hole of zeros.
      co_await f.write_all_at("end", 3, 20);
      auto m = co_await f.metadata();
      CHECK(m.size == 23);
      std::string all(23, 'x');
      co_await f.read_exact_at(all.data(), all.size(), 0);
      CHECK(all == std::string("hello WORLD") + std::string(9, '\0') + "end");
      CHECK(f.position() == 0);
    }(d / "b.bin"));
  }

  TEST_CASE("read_exact at the end of the file: unexpected_eof with what arrived") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      co_await fs::write(path, std::string_view("12345"));
      fs::file f = co_await fs::file::open(path);
      char buf[10];
      try {
        co_await f.read_exact(buf, sizeof buf);
        FAIL("no error");
      } catch (const unexpected_eof& e) {
        CHECK(e.got() == 5);
        CHECK(e.wanted() == 10);
        CHECK(std::string(e.what()).find(path) != std::string::npos);
      }
      CHECK(f.position() == 5);
      try {
        co_await f.read_exact_at(buf, 4, 3);
        FAIL("no error");
      } catch (const unexpected_eof& e) {
        CHECK(e.got() == 2);
        CHECK(e.wanted() == 4);
      }
    }(d / "short"));
  }

  TEST_CASE("many tasks use read_at on one file at once") {
    temp_dir d;
    auto rt = test::multi(4);
    rt.block_on([](std::string path) -> task<void> {
      std::string data = pattern(64 * 1024);
      co_await fs::write(path, data);
      fs::file f = co_await fs::file::open(path);
      std::vector<join_handle<bool>> hs;
      for (std::size_t i = 0; i < 64; ++i)
        hs.push_back(spawn([](fs::file& f, const std::string& data, std::size_t i) -> task<bool> {
          std::string chunk(1024, '\0');
          co_await f.read_exact_at(chunk.data(), chunk.size(), i * 1024);
          co_return chunk == data.substr(i * 1024, 1024);
        }(f, data, i)));
      for (auto& h : hs) {
        bool ok = co_await h;
        CHECK(ok);
      }
    }(d / "shared"));
  }

  TEST_CASE("append mode writes at the end and leaves the cursor") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      co_await fs::write(path, std::string_view("start\n"));
      {
        fs::file f = co_await fs::file::open(path, fs::open_options().append());
        CHECK(f.appends());
        co_await f.write_all("one\n");
        std::size_t n = co_await f.write("two\n");
        CHECK(n == 4);
        CHECK(f.position() == 0);
        n = co_await f.write_at("three\n", 6, 0);  // Linux appends whatever the offset
        CHECK(n == 6);
        co_await f.close();
      }
      std::string s = co_await fs::read_to_string(path);
      CHECK(s == "start\none\ntwo\nthree\n");
      // read + append: reads follow the cursor, writes go to the end.
      fs::file f = co_await fs::file::open(path, fs::open_options().read().append());
      char buf[6];
      co_await f.read_exact(buf, 6);
      CHECK(std::string(buf, 6) == "start\n");
      co_await f.write_all("four\n");
      CHECK(f.position() == 6);
      co_await f.read_exact(buf, 4);
      CHECK(std::string(buf, 4) == "one\n");
    }(d / "log"));
  }

  TEST_CASE("create, truncate, create_new and mode") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      {
        fs::file f = co_await fs::file::open(path, fs::open_options().write().create().mode(0600));
        co_await f.write_all("0123456789");
      }
      auto m = co_await fs::metadata(path);
      CHECK(m.permissions == std::filesystem::perms(0600));
      CHECK(m.size == 10);
      {  // without truncate: overwrite in place
        fs::file f = co_await fs::file::open(path, fs::open_options().write());
        co_await f.write_all("ab");
      }
      std::string s = co_await fs::read_to_string(path);
      CHECK(s == "ab23456789");
      {
        fs::file f = co_await fs::file::create(path);  // truncates
        co_await f.write_all("xy");
      }
      s = co_await fs::read_to_string(path);
      CHECK(s == "xy");
      co_await expect_error(fs::file::open(path, fs::open_options().write().create_new()), EEXIST, path);
      // create_new wins over create + truncate, and fails the same way.
      co_await expect_error(fs::file::open(path, fs::open_options().write().create().truncate().create_new()),
                            EEXIST, path);
    }(d / "c"));
  }

  TEST_CASE("invalid option combinations: EINVAL naming the path") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      co_await fs::write(path, std::string_view("x"));
      co_await expect_error(fs::file::open(path, fs::open_options()), EINVAL, path);
      co_await expect_error(fs::file::open(path, fs::open_options().read().create()), EINVAL, "need write");
      co_await expect_error(fs::file::open(path, fs::open_options().read().truncate()), EINVAL, path);
      co_await expect_error(fs::file::open(path, fs::open_options().append().truncate()), EINVAL, "append");
      std::string s = co_await fs::read_to_string(path);
      CHECK(s == "x");  // none of them touched the file
    }(d / "opts"));
  }

  TEST_CASE("open errors name the path: ENOENT, ENOTDIR, EISDIR") {
    temp_dir d;
    auto rt = test::multi();
    rt.block_on([](const temp_dir& d) -> task<void> {
      std::string missing = d / "no-such-file";
      co_await expect_error(fs::file::open(missing), ENOENT, missing);
      co_await expect_error(fs::read_to_string(missing), ENOENT, missing);
      co_await expect_error(fs::read_bytes(missing), ENOENT, missing);
      co_await expect_error(fs::metadata(missing), ENOENT, missing);
      co_await expect_error(fs::symlink_metadata(missing), ENOENT, missing);
      co_await expect_error(fs::write(d / "no-dir/x", std::string_view("x")), ENOENT, "no-dir/x");
      std::string plain = d / "plain";
      co_await fs::write(plain, std::string_view("x"));
      co_await expect_error(fs::file::open(plain + "/below"), ENOTDIR, plain + "/below");
      co_await expect_error(fs::file::open(d.path, fs::open_options().write()), EISDIR, d.path);
      co_await expect_error(fs::write(d.path, std::string_view("x")), EISDIR, d.path);
    }(d));
  }

  TEST_CASE("reading a directory: EISDIR naming it") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string dir) -> task<void> {
      fs::file f = co_await fs::file::open(dir);  // opening one for reading works
      auto m = co_await f.metadata();
      CHECK(m.is_directory());
      char buf[16];
      co_await expect_error(f.read(buf, sizeof buf), EISDIR, "read " + dir);
      co_await expect_error(f.read_at(buf, sizeof buf, 0), EISDIR, dir);
      co_await expect_error(fs::read_to_string(dir), EISDIR, dir);
    }(d.path));
  }

  TEST_CASE("permission denied: EACCES naming the path") {
    temp_dir d;
    std::string secret = d / "secret";
    {
      std::FILE* fp = std::fopen(secret.c_str(), "w");
      REQUIRE(fp);
      std::fputs("top secret", fp);
      std::fclose(fp);
    }
    ::chmod(secret.c_str(), 0);
    ::mkdir((d / "locked").c_str(), 0555);
    // Root passes permission checks; drop that for one thread only (the file system uid is
    // per thread) and run a current_thread runtime on it, so the reactor acts with its rights.
    std::thread t([&] {
      if (::geteuid() == 0) ::syscall(SYS_setfsuid, 65534);
      auto rt = test::single();
      rt.block_on([](const temp_dir& d, std::string secret) -> task<void> {
        co_await expect_error(fs::file::open(secret), EACCES, secret);
        co_await expect_error(fs::read_to_string(secret), EACCES, secret);
        co_await expect_error(fs::file::open(secret, fs::open_options().write()), EACCES, secret);
        co_await expect_error(fs::write(d / "locked/new", std::string_view("x")), EACCES, d / "locked/new");
      }(d, secret));
    });
    t.join();
  }

  TEST_CASE("a closed or default-constructed file fails with EBADF") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      fs::file none;
      CHECK_FALSE(none.is_open());
      char buf[8];
      co_await expect_error(none.read(buf, sizeof buf), EBADF);
      co_await expect_error(none.write("x"), EBADF);
      co_await expect_error(none.read_at(buf, sizeof buf, 0), EBADF);
      co_await expect_error(none.write_at("x", 1, 0), EBADF);
      co_await expect_error(none.read_exact(buf, sizeof buf), EBADF);
      co_await expect_error(none.write_all("x"), EBADF);
      co_await expect_error(none.fsync(), EBADF);
      co_await expect_error(none.metadata(), EBADF);
      co_await expect_error(none.close(), EBADF);

      fs::file f = co_await fs::file::create(path);
      co_await f.write_all("abc");
      co_await f.close();
      CHECK_FALSE(f.is_open());
      co_await expect_error(f.write("x"), EBADF, path);  // the message still names the path
      co_await expect_error(f.read(buf, 1), EBADF, path);
      co_await expect_error(f.fdatasync(), EBADF, path);
      co_await expect_error(f.close(), EBADF, path);

      fs::file g = co_await fs::file::open(path);
      fs::file moved = std::move(g);
      co_await expect_error(g.read(buf, 1), EBADF);  // NOLINT(bugprone-use-after-move)
      std::size_t n = co_await moved.read(buf, sizeof buf);
      CHECK(n == 3);
    }(d / "closed"));
  }

  TEST_CASE("writing a file opened read-only, reading one opened write-only: EBADF") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      co_await fs::write(path, std::string_view("data"));
      fs::file r = co_await fs::file::open(path);
      co_await expect_error(r.write_all("x"), EBADF, path);
      fs::file w = co_await fs::file::open(path, fs::open_options().write());
      char c;
      co_await expect_error(w.read(&c, 1), EBADF, path);
    }(d / "ro"));
  }

  TEST_CASE("fsync and fdatasync") {
    temp_dir d;
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      fs::file f = co_await fs::file::create(path);
      co_await f.write_all("durable");
      co_await f.fsync();
      co_await f.fdatasync();
      co_await f.close();
      std::string s = co_await fs::read_to_string(path);
      CHECK(s == "durable");
    }(d / "sync"));
  }

  TEST_CASE("metadata: kinds, size, permissions, times") {
    temp_dir d;
    std::string file_path = d / "f", link_path = d / "l", fifo_path = d / "p";
    auto before = std::chrono::system_clock::now() - 2s;
    auto rt = test::multi();
    rt.block_on([](const temp_dir& d, std::string file_path, std::string link_path, std::string fifo_path,
                   std::chrono::system_clock::time_point before) -> task<void> {
      co_await fs::write(file_path, std::string_view("12345"));
      ::chmod(file_path.c_str(), 0640);
      REQUIRE(::symlink(file_path.c_str(), link_path.c_str()) == 0);
      REQUIRE(::mkfifo(fifo_path.c_str(), 0600) == 0);

      auto m = co_await fs::metadata(file_path);
      CHECK(m.is_file());
      CHECK(m.kind == fs::file_kind::regular);
      CHECK(m.size == 5);
      CHECK(m.permissions == std::filesystem::perms(0640));
      CHECK(m.modified >= before);
      CHECK(m.modified <= std::chrono::system_clock::now() + 2s);
      CHECK(m.links == 1);
      CHECK(m.inode != 0);

      auto followed = co_await fs::metadata(link_path);
      CHECK(followed.is_file());
      CHECK(followed.inode == m.inode);
      auto link = co_await fs::symlink_metadata(link_path);
      CHECK(link.is_symlink());
      CHECK(link.size == file_path.size());

      auto dir = co_await fs::metadata(d.path);
      CHECK(dir.is_directory());
      CHECK(std::string(fs::to_string(dir.kind)) == "directory");
      auto fifo = co_await fs::metadata(fifo_path);
      CHECK(fifo.kind == fs::file_kind::fifo);
      auto null = co_await fs::metadata("/dev/null");
      CHECK(null.kind == fs::file_kind::char_device);

      fs::file f = co_await fs::file::open(file_path);
      auto mf = co_await f.metadata();
      CHECK(mf.inode == m.inode);
      CHECK(mf.size == 5);
    }(d, file_path, link_path, fifo_path, before));
  }

  TEST_CASE("whole-file helpers: strings, bytes, large and empty files, /proc") {
    temp_dir d;
    auto rt = test::multi();
    rt.block_on([](const temp_dir& d) -> task<void> {
      std::string big = pattern(3 * 1024 * 1024 + 17);
      co_await fs::write(d / "big", big);
      std::string s = co_await fs::read_to_string(d / "big");
      CHECK(s.size() == big.size());
      CHECK(s == big);

      std::vector<std::byte> bytes{std::byte{0}, std::byte{255}, std::byte{10}, std::byte{0}};
      co_await fs::write(d / "bytes", std::span<const std::byte>(bytes));
      auto back = co_await fs::read_bytes(d / "bytes");
      CHECK(back == bytes);

      co_await fs::write(d / "empty", std::string_view());
      std::string e = co_await fs::read_to_string(d / "empty");
      CHECK(e.empty());
      // Overwriting a longer file truncates it.
      co_await fs::write(d / "big", std::string_view("small"));
      s = co_await fs::read_to_string(d / "big");
      CHECK(s == "small");
      // statx says 0 bytes for /proc files; the helper reads until the end anyway.
      std::string status = co_await fs::read_to_string("/proc/self/status");
      CHECK(status.find("Pid:") != std::string::npos);
    }(d));
  }

  TEST_CASE("a file that cannot seek (a FIFO opened by path) reads and writes at the kernel's position") {
    temp_dir d;
    std::string fifo = d / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto rt = test::single();
    rt.block_on([](std::string fifo) -> task<void> {
      // O_RDWR: Linux opens a FIFO that way without waiting for the other side.
      fs::file f = co_await fs::file::open(fifo, fs::open_options().read().write());
      co_await f.write_all("through the fifo");
      char buf[32];
      std::size_t n = co_await f.read(buf, sizeof buf);
      CHECK(std::string(buf, n) == "through the fifo");
      co_await expect_error(f.read_at(buf, sizeof buf, 0), ESPIPE, fifo);  // at once, with no data
      co_await expect_error(f.write_at("x", 1, 0), ESPIPE, fifo);
    }(fifo));
  }

  TEST_CASE("adopting a descriptor starts at its position") {
    temp_dir d;
    std::string path = d / "adopt";
    auto rt = test::single();
    rt.block_on([](std::string path) -> task<void> {
      co_await fs::write(path, std::string_view("0123456789"));
      int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      REQUIRE(raw >= 0);
      REQUIRE(::lseek(raw, 4, SEEK_SET) == 4);
      fs::file f(detail::fd(raw), "adopted");
      CHECK(f.position() == 4);
      char buf[3];
      co_await f.read_exact(buf, 3);
      CHECK(std::string(buf, 3) == "456");
      co_await f.close();
      co_await expect_error(f.read(buf, 1), EBADF, "adopted");
    }(path));
  }

  TEST_CASE("aborting tasks in the middle of file I/O leaks no descriptor") {
    temp_dir d;
    auto rt = test::multi();
    int before = test::open_fds();
    rt.block_on([](const temp_dir& d) -> task<void> {
      co_await fs::write(d / "x", pattern(1 << 20));
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 50; ++i)
        hs.push_back(spawn([](std::string path) -> task<void> {
          for (;;) {
            std::string s = co_await fs::read_to_string(path);
            co_await yield_now();
          }
        }(d / "x")));
      for (int i = 0; i < 20; ++i) co_await yield_now();
      for (auto& h : hs) h.abort();
      for (auto& h : hs) CHECK_THROWS_AS(co_await h, cancelled);
    }(d));
    CHECK(test::open_fds() == before);
  }
}

TEST_SUITE("fs_pipe") {
  TEST_CASE("a pipe between two tasks: short writes, write_all, end of stream") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      CHECK(rd.is_open());
      CHECK(wr.is_open());
      CHECK((::fcntl(rd.native_handle(), F_GETFL) & O_NONBLOCK) != 0);
      CHECK((::fcntl(wr.native_handle(), F_GETFD) & FD_CLOEXEC) != 0);
      std::string data = pattern(1 << 20);
      // One write into an empty pipe takes what fits (the pipe holds 64 KiB): short.
      std::size_t first = co_await wr.write(data);
      CHECK(first > 0);
      CHECK(first < data.size());
      auto writer = spawn([](fs::pipe_writer w, const std::string& data, std::size_t from) -> task<void> {
        co_await w.write_all(data.data() + from, data.size() - from);
        w.close();  // the end of the stream (the frame, with `w`, lives until joined)
      }(std::move(wr), data, first));
      std::string got;
      char buf[10'000];
      for (;;) {
        std::size_t n = co_await rd.read(buf, sizeof buf);
        if (n == 0) break;  // the writer closed its end
        got.append(buf, n);
      }
      co_await writer;
      CHECK(got.size() == data.size());
      CHECK(got == data);
    }());
  }

  TEST_CASE("a pipe from a std::thread to a task, and back") {
    auto rt = test::multi();
    rt.block_on([]() -> task<void> {
      std::string data = pattern(300'000);
      auto [rd, wr] = fs::pipe();
      std::thread producer([&data, w = std::move(wr)] { thread_write_all(w.native_handle(), data.data(), data.size()); });
      std::string got(data.size(), '\0');
      co_await rd.read_exact(got.data(), got.size());
      producer.join();
      char c;
      std::size_t n = co_await rd.read(&c, 1);  // the thread's end is closed
      CHECK(n == 0);
      CHECK(got == data);

      auto [rd2, wr2] = fs::pipe();
      std::string received;
      std::thread consumer([&received, r = std::move(rd2)] { received = thread_read_all(r.native_handle()); });
      co_await wr2.write_all(data);
      wr2.close();
      consumer.join();
      CHECK(received == data);
    }());
  }

  TEST_CASE("pipe errors: EPIPE (no SIGPIPE), EBADF, unexpected_eof") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      {
        auto [rd, wr] = fs::pipe();
        rd.close();
        co_await expect_error(wr.write("x"), EPIPE, "write pipe");
        co_await expect_error(wr.write_all(pattern(100'000)), EPIPE);
      }
      {
        auto [rd, wr] = fs::pipe();
        co_await wr.write_all("abc");
        wr.close();
        char buf[8];
        try {
          co_await rd.read_exact(buf, sizeof buf);
          FAIL("no error");
        } catch (const unexpected_eof& e) {
          CHECK(e.got() == 3);
          CHECK(e.wanted() == 8);
        }
        rd.close();
        co_await expect_error(rd.read(buf, 1), EBADF, "pipe");
        co_await expect_error(rd.read_exact(buf, 1), EBADF, "pipe");
        co_await expect_error(wr.write("x"), EBADF, "pipe");
        co_await expect_error(wr.write_all("x"), EBADF, "pipe");
      }
      fs::pipe_reader none;
      char c;
      co_await expect_error(none.read(&c, 1), EBADF);
    }());
  }

  TEST_CASE("reads return what is there (short reads)") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      co_await wr.write_all("12345");
      char buf[1000];
      std::size_t n = co_await rd.read(buf, sizeof buf);
      CHECK(n == 5);
      co_await wr.write_all("6");
      n = co_await rd.read(std::span<char>(buf));
      CHECK(n == 1);
    }());
  }

  TEST_CASE("owned_fd: adopting descriptors with public types only") {
    int before = test::open_fds();
    {
      int p[2];
      REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
      owned_fd a(p[0]), b(p[1]);
      CHECK(a.valid());
      owned_fd moved(std::move(a));  // the moved-from one holds -1 and closes nothing
      CHECK_FALSE(a.valid());
      CHECK(a.get() == -1);
      CHECK(moved.get() == p[0]);
      int raw = b.release();  // ours to close now
      CHECK(raw == p[1]);
      CHECK_FALSE(b.valid());
      ::close(raw);
      moved.reset();
      CHECK_FALSE(moved.valid());
      CHECK(test::open_fds() == before);
    }
    {
      auto rt = test::single();
      int with_rt = test::open_fds();
      rt.block_on([]() -> task<void> {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
        fs::pipe_reader rd{owned_fd(p[0])};
        fs::pipe_writer wr{owned_fd(p[1])};
        fs::io_operation w = wr.write("hi");  // the awaitables have public names
        std::size_t wrote = co_await std::move(w);
        CHECK(wrote == 2);
        char buf[4];
        fs::read_operation r = rd.read(buf, sizeof buf);
        std::size_t got = co_await std::move(r);
        CHECK(got == 2);
        CHECK(std::string(buf, 2) == "hi");
      }());
      CHECK(test::open_fds() == with_rt);  // both ends closed by their owners
    }
  }

  TEST_CASE("aborting a task blocked reading an empty pipe") {
    auto rt = test::multi();
    int before = test::open_fds();
    rt.block_on([]() -> task<void> {
      auto [rd, wr] = fs::pipe();
      auto h = spawn([](fs::pipe_reader& r) -> task<std::size_t> {
        char buf[16];
        co_return co_await r.read(buf, sizeof buf);
      }(rd));
      for (int i = 0; i < 10; ++i) co_await yield_now();
      h.abort();
      CHECK_THROWS_AS(co_await h, cancelled);
      // The pipe still works: nothing was consumed by the aborted read.
      co_await wr.write_all("z");
      char c = 0;
      std::size_t n = co_await rd.read(&c, 1);
      CHECK(n == 1);
      CHECK(c == 'z');
    }());
    CHECK(test::open_fds() == before);
  }
}

TEST_SUITE("fs_stdio") {
  TEST_CASE("stdin from a blocking pipe does not block the worker") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);  // blocking, like a shell's pipe
    fs::pipe_writer w{detail::fd(p[1])};
    std::string got;
    {
      redirect in(STDIN_FILENO, p[0]);
      ::close(p[0]);
      auto rt = test::single();  // one worker: a blocked read would deadlock the writer
      got = rt.block_on([](fs::pipe_writer& w) -> task<std::string> {
        auto reader = spawn([]() -> task<std::string> {
          auto in = fs::stdin_stream();
          std::string all;
          char buf[64];
          for (;;) {
            std::size_t n = co_await in.read(buf, sizeof buf);
            if (n == 0) co_return all;
            all.append(buf, n);
          }
        }());
        for (int i = 0; i < 5; ++i) co_await yield_now();  // let the reader wait first
        co_await w.write_all("from the pipe\n");
        w.close();
        co_return co_await reader;
      }(w));
    }
    CHECK(got == "from the pipe\n");
  }

  TEST_CASE("stdin from a regular file") {
    temp_dir d;
    std::string path = d / "input";
    {
      std::FILE* fp = std::fopen(path.c_str(), "w");
      REQUIRE(fp);
      std::fputs("line one\nline two\n", fp);
      std::fclose(fp);
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::string got;
    {
      redirect in(STDIN_FILENO, fd);
      ::close(fd);
      auto rt = test::multi();
      got = rt.block_on([]() -> task<std::string> {
        auto in = fs::stdin_stream();
        std::string all(18, '\0');
        co_await in.read_exact(all.data(), all.size());
        char c;
        std::size_t n = co_await in.read(&c, 1);
        if (n != 0) all += "<not at the end>";
        co_return all;
      }());
    }
    CHECK(got == "line one\nline two\n");
  }

  TEST_CASE("stdout and stderr into pipes; a closed reader gives EPIPE naming the stream") {
    auto [rd, wr] = fs::pipe();
    auto [rd2, wr2] = fs::pipe();
    {
      redirect out(STDOUT_FILENO, wr.native_handle());
      redirect err(STDERR_FILENO, wr2.native_handle());
      auto rt = test::single();
      rt.block_on([]() -> task<void> {
        co_await fs::stdout_stream().write_all("to stdout\n");
        std::size_t n = co_await fs::stderr_stream().write("to stderr\n");
        if (n != 10) co_await fs::stderr_stream().write_all("short write\n");
      }());
    }
    wr.close();
    wr2.close();
    CHECK(thread_read_all(rd.native_handle()) == "to stdout\n");
    CHECK(thread_read_all(rd2.native_handle()) == "to stderr\n");

    auto [rd3, wr3] = fs::pipe();
    int err_code = 0;
    std::string what;
    {
      redirect out(STDOUT_FILENO, wr3.native_handle());
      wr3.close();
      rd3.close();  // nobody reads stdout any more
      auto rt = test::single();
      rt.block_on([](int& err_code, std::string& what) -> task<void> {
        try {
          co_await fs::stdout_stream().write_all("lost\n");
        } catch (const std::system_error& e) {
          err_code = e.code().value();
          what = e.what();
        }
      }(err_code, what));
    }
    CHECK(err_code == EPIPE);
    CHECK(what.find("stdout") != std::string::npos);
  }

  // --- Directory operations (issue 18), on both backends ---------------------------------------

  TEST_CASE("directory operations: create, list, rename, copy, remove, on both backends") {
    for (io_backend b : {io_backend::epoll, io_backend::uring}) {
      std::optional<runtime> rt;
      try {
        rt.emplace(runtime::builder().current_thread().backend(b).build());
      } catch (const std::system_error&) {
        MESSAGE("io_uring unavailable here; that backend skipped");
        continue;
      }
      INFO("backend ", std::string(rt->backend_name()));
      temp_dir d;
      rt->block_on([](const temp_dir& d) -> task<void> {
        co_await fs::create_dir(d / "a");
        CHECK((co_await fs::metadata(d / "a")).is_directory());
        co_await expect_error(fs::create_dir(d / "a"), EEXIST, "create_dir " + d / "a");
        co_await expect_error(fs::create_dir(d / "x/y"), ENOENT, "create_dir " + d / "x/y");

        co_await fs::create_dir_all(d / "a/b/c/");
        co_await fs::create_dir_all(d / "a/b/c");  // already there: nothing to do
        CHECK((co_await fs::metadata(d / "a/b/c")).is_directory());
        co_await fs::write(d / "a/f.txt", "hello");
        co_await expect_error(fs::create_dir_all(d / "a/f.txt/sub"), ENOTDIR, "create_dir_all");
        co_await expect_error(fs::create_dir_all(d / "a/f.txt"), EEXIST, "create_dir_all " + d / "a/f.txt");
        REQUIRE(::symlink("f.txt", (d / "a/link").c_str()) == 0);

        auto entries = co_await fs::read_dir(d / "a");
        std::sort(entries.begin(), entries.end(), [](const fs::dir_entry& x, const fs::dir_entry& y) { return x.name < y.name; });
        REQUIRE(entries.size() == 3);
        CHECK(entries[0] == fs::dir_entry{"b", fs::file_kind::directory});
        CHECK(entries[1] == fs::dir_entry{"f.txt", fs::file_kind::regular});
        CHECK(entries[2] == fs::dir_entry{"link", fs::file_kind::symlink});
        CHECK((co_await fs::read_dir(d / "a/b/c")).empty());
        co_await expect_error(fs::read_dir(d / "nope"), ENOENT, "read_dir " + d / "nope");
        co_await expect_error(fs::read_dir(d / "a/f.txt"), ENOTDIR, "read_dir");

        CHECK(co_await fs::copy(d / "a/f.txt", d / "g.txt") == 5);
        CHECK(co_await fs::read_to_string(d / "g.txt") == "hello");
        co_await fs::write(d / "g.txt", "longer contents");
        CHECK(co_await fs::copy(d / "a/f.txt", d / "g.txt") == 5);  // overwrites
        CHECK(co_await fs::read_to_string(d / "g.txt") == "hello");
        co_await expect_error(fs::copy(d / "nope", d / "h.txt"), ENOENT, "copy " + d / "nope");

        co_await fs::rename(d / "g.txt", d / "h.txt");
        CHECK(co_await fs::read_to_string(d / "h.txt") == "hello");
        co_await expect_error(fs::metadata(d / "g.txt"), ENOENT);
        co_await expect_error(fs::rename(d / "g.txt", d / "i.txt"), ENOENT, "rename " + d / "g.txt" + " -> " + d / "i.txt");

        co_await fs::remove_file(d / "h.txt");
        co_await expect_error(fs::remove_file(d / "h.txt"), ENOENT, "remove_file " + d / "h.txt");
        co_await expect_error(fs::remove_file(d / "a"), EISDIR, "remove_file");
        co_await expect_error(fs::remove_dir(d / "a"), ENOTEMPTY, "remove_dir " + d / "a");
        co_await fs::remove_dir(d / "a/b/c");
        co_await expect_error(fs::metadata(d / "a/b/c"), ENOENT);

        co_await expect_error(fs::remove_dir_all(d / "a/f.txt"), ENOTDIR, "remove_dir_all");
        co_await expect_error(fs::remove_dir_all(d / "nope"), ENOENT, "remove_dir_all " + d / "nope");
        co_await fs::remove_dir_all(d / "a");  // the symlink goes, not its target's contents
        co_await expect_error(fs::metadata(d / "a"), ENOENT);
        CHECK((co_await fs::read_dir(d.path)).empty());
      }(d));
    }
  }

  TEST_CASE("directory operations reject a path with a NUL byte") {
    auto rt = test::single();
    rt.block_on([]() -> task<void> {
      std::string what;
      try {
        co_await fs::create_dir(std::string("/tmp/a\0b", 8));
      } catch (const std::invalid_argument& e) {
        what = e.what();
      }
      CHECK(what.find("NUL byte") != std::string::npos);
    }());
  }
}
