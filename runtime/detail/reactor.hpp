#pragma once
// The narrow interface between a worker and its I/O backend (io/): the worker parks in its
// reactor with the next timer deadline as timeout, other threads wake it through `unpark`.
// The io_uring backend parks in io_uring_submit_and_wait_timeout and is woken by a write to
// an eventfd it always has a read pending on; the epoll backend waits in epoll_pwait2 on the
// same kind of eventfd. One reactor per worker, created and driven on that worker's thread
// (except `unpark`, which any thread may call).

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace corio::detail {

enum class backend_kind { uring, epoll };

/// What a reactor calls when an operation completes (the I/O layer embeds one in each
/// operation's awaiter). `res` is the kernel's result (bytes, descriptor, or -errno).
struct io_completion {
  void (*complete)(io_completion* self, int res, unsigned flags) noexcept = nullptr;
};

class reactor {
 public:
  virtual ~reactor() = default;

  /// Submits queued operations, then waits for completions until one arrives, `unpark` is
  /// called, or `timeout` passes (nullopt: no timeout; zero: do not wait). Dispatches every
  /// completion it reaps. Returns the number of completions dispatched (wake-ups excluded).
  virtual std::size_t park(std::optional<std::chrono::nanoseconds> timeout) = 0;

  /// Thread-safe: makes a concurrent park return, or the next one return at once.
  virtual void unpark() noexcept = 0;

  /// Called on the owning thread before the worker exits: cancels every operation in flight
  /// and waits until the kernel has completed them all (so no buffer is written afterwards).
  virtual void shutdown() noexcept = 0;

  virtual backend_kind kind() const noexcept = 0;
};

/// The backend this process uses: io_uring unless it is unavailable (setup fails with EPERM,
/// ENOSYS or ENOMEM) or CORIO_BACKEND=epoll; decided once. Throws std::runtime_error if
/// CORIO_BACKEND holds something else.
backend_kind default_backend();

/// Creates a reactor of the given kind for the calling thread. Throws std::system_error if the
/// kernel refuses.
std::unique_ptr<reactor> make_reactor(backend_kind kind);

const char* to_string(backend_kind kind) noexcept;

/// Parses a CORIO_BACKEND value: "uring" (or "io_uring"), "epoll"; nullopt for null or empty.
/// Throws std::runtime_error naming anything else.
std::optional<backend_kind> parse_backend(const char* value);

}  // namespace corio::detail
