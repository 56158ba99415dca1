// Chooses and creates a worker's reactor (runtime/detail/reactor.hpp).

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "../../runtime/detail/reactor.hpp"
#include "backend_probe.hpp"

namespace corio::detail {

std::unique_ptr<reactor> make_uring_reactor(bool single_thread);
std::unique_ptr<reactor> make_epoll_reactor();

const char* to_string(backend_kind kind) noexcept { return kind == backend_kind::uring ? "uring" : "epoll"; }

std::optional<backend_kind> parse_backend(const char* value) {
  if (!value || !*value) return std::nullopt;
  if (std::strcmp(value, "uring") == 0 || std::strcmp(value, "io_uring") == 0) return backend_kind::uring;
  if (std::strcmp(value, "epoll") == 0) return backend_kind::epoll;
  throw std::runtime_error(std::string("CORIO_BACKEND: unknown backend '") + value + "' (expected 'uring' or 'epoll')");
}

backend_kind default_backend() {
  // -1: not decided yet; else the backend_kind. Decided by CORIO_BACKEND or by a definite
  // probe answer (backend_probe.hpp); a transient probe failure decides nothing: this runtime
  // tries io_uring (and throws if the shortage persists), the next one probes again.
  static std::atomic<int> decided{-1};
  int d = decided.load(std::memory_order_relaxed);
  if (d >= 0) return static_cast<backend_kind>(d);
  backend_kind kind;
  if (auto forced = parse_backend(std::getenv("CORIO_BACKEND"))) {
    kind = *forced;
  } else {
    probe_result r = probe_uring();
    if (r == probe_result::transient) return backend_kind::uring;
    kind = r == probe_result::supported ? backend_kind::uring : backend_kind::epoll;
  }
  decided.store(static_cast<int>(kind), std::memory_order_relaxed);
  return kind;
}

std::unique_ptr<reactor> make_reactor(backend_kind kind, bool single_thread) {
  return kind == backend_kind::uring ? make_uring_reactor(single_thread) : make_epoll_reactor();
}

}  // namespace corio::detail
