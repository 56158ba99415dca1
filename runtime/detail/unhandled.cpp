// The stderr line for an unhandled exception; see unhandled.hpp.

#include "unhandled.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace corio::detail {

void print_unhandled(std::exception_ptr e, const char* kind, std::uint64_t id, const char* suffix) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    fmt::print(stderr, "corio: {} {} finished with an unhandled exception: {}{}\n", kind, id, ex.what(), suffix);
  } catch (...) {
    fmt::print(stderr, "corio: {} {} finished with an unhandled exception of a non-std type{}\n", kind, id, suffix);
  }
}

}  // namespace corio::detail
