// Chooses and creates a worker's reactor (runtime/detail/reactor.hpp).

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "../../runtime/detail/reactor.hpp"

namespace corio::detail {

std::unique_ptr<reactor> make_uring_reactor(bool single_thread);
std::unique_ptr<reactor> make_epoll_reactor();
bool uring_available() noexcept;

const char* to_string(backend_kind kind) noexcept { return kind == backend_kind::uring ? "uring" : "epoll"; }

std::optional<backend_kind> parse_backend(const char* value) {
  if (!value || !*value) return std::nullopt;
  if (std::strcmp(value, "uring") == 0 || std::strcmp(value, "io_uring") == 0) return backend_kind::uring;
  if (std::strcmp(value, "epoll") == 0) return backend_kind::epoll;
  throw std::runtime_error(std::string("CORIO_BACKEND: unknown backend '") + value + "' (expected 'uring' or 'epoll')");
}

backend_kind default_backend() {
  static const backend_kind chosen = [] {
    if (auto forced = parse_backend(std::getenv("CORIO_BACKEND"))) return *forced;
    return uring_available() ? backend_kind::uring : backend_kind::epoll;
  }();
  return chosen;
}

std::unique_ptr<reactor> make_reactor(backend_kind kind, bool single_thread) {
  return kind == backend_kind::uring ? make_uring_reactor(single_thread) : make_epoll_reactor();
}

}  // namespace corio::detail
