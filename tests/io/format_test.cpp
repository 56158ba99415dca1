// fmt::formatter specialisations for the types users log (issue 18).

#include <doctest/doctest.h>
#include <corio/corio.hpp>

#include <fmt/format.h>

#include <string>

using namespace corio;

TEST_SUITE("format") {
  TEST_CASE("socket_address formats as its to_string, with string format specs") {
    CHECK(fmt::format("{}", net::socket_address("127.0.0.1", 80)) == "127.0.0.1:80");
    CHECK(fmt::format("{}", net::socket_address::parse("[::1]:443")) == "[::1]:443");
    CHECK(fmt::format("{}", net::socket_address::unix_path("/tmp/x.sock")) == "unix:/tmp/x.sock");
    CHECK(fmt::format("{}", net::socket_address()) == "(unspecified)");
    CHECK(fmt::format("[{:>14}]", net::socket_address("1.2.3.4", 5)) == "[     1.2.3.4:5]");
  }

  TEST_CASE("corio's exceptions format as their message") {
    CHECK(fmt::format("{}", cancelled()) == "corio: task was cancelled");
    CHECK(fmt::format("{}", timed_out("deadline")) == "deadline");
    CHECK(fmt::format("{}", usage_error("bad use")) == "bad use");
    CHECK(fmt::format("{:.3}", unexpected_eof("eof early", 1, 2)) == "eof");
    std::uint64_t id = 42;  // task ids are plain integers
    CHECK(fmt::format("task {}", id) == "task 42");
  }
}
