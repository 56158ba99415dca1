#pragma once
// How the io_uring backend tells "this kernel or sandbox cannot do it" from "not now": a probe
// that fails for want of descriptors or memory says nothing about the kernel, so its answer
// must not be remembered for the rest of the process (issue 17: a first runtime built while
// descriptors ran out used to pin every later runtime to epoll).
//
// Policy (reactor_factory.cpp, uring_reactor.cpp):
// - unsupported (EPERM: a seccomp filter or io_uring_disabled; ENOSYS: no io_uring; EINVAL:
//   the kernel refuses the request): remembered, the process uses epoll / one-shot accept.
// - transient (anything else, typically EMFILE, ENFILE, ENOMEM): not remembered. The runtime
//   being built tries io_uring itself and, if the shortage persists, its construction throws
//   std::system_error with that errno, as Tokio's Runtime::new returns the error and an Asio
//   io_context constructor throws. The next runtime probes again.

#include <cerrno>

namespace corio::detail {

enum class probe_result { supported, unsupported, transient };

/// Classifies the errno with which an io_uring probe failed.
constexpr probe_result classify_probe_error(int err) noexcept {
  return err == EPERM || err == ENOSYS || err == EINVAL ? probe_result::unsupported : probe_result::transient;
}

/// Creates and destroys a two-entry ring: whether this process may use io_uring now.
probe_result probe_uring() noexcept;

}  // namespace corio::detail
