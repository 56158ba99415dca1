#pragma once
// Fault injection for tests: makes the reactors (io/detail/uring_reactor.cpp, epoll_reactor.cpp)
// and the frame allocator (frame_alloc.cpp) misbehave on purpose, the way a kernel under
// pressure or a hostile peer would, so that the tests in tests/fault/ can show what the runtime
// does then.
//
// A test arms rules; each rule names an injection point, optionally an operation kind, and
// when it fires (every event, every Nth, the next N, or only the Nth). Nothing is armed in a
// normal program, and then each injection point costs one relaxed atomic load. When something
// is armed, the points take a mutex (tests only).
//
//   corio::detail::fault::armed reset(fault::rule::result(io_kind::recv, -ECONNRESET).times(1));
//   ... the next recv started on any reactor completes with -ECONNRESET ...
//
// What each point does, and what the runtime must do about it:
//   result          The operation does not run; it completes with `value` (a forged kernel
//                   result: -ECONNRESET, -ENOMEM, -EINTR ...). The io_uring backend still
//                   sends a NOP through the ring, so the completion takes the asynchronous
//                   path. -EINTR is retried transparently by both backends.
//   short_transfer  read/write/recv/send: the request's length is cut to at most `value` bytes
//                   before it is handed to the kernel, so the kernel's count is short but
//                   every byte it reports really moved.
//   enter           io_uring_enter (submit, or submit-and-wait) returns `value` (-EBUSY,
//                   -EINTR) without entering the kernel; epoll_pwait2 fails with EINTR. The
//                   reactor reaps, retries or re-parks.
//   sq_full         io_uring_get_sqe reports a full submission queue once per firing: the
//                   reactor flushes the queue to the kernel and takes the entry again.
//   tiny_cq         io_uring rings created while it is armed get `value` submission and
//                   completion entries (IORING_SETUP_CQSIZE), so completions overflow.
//   alloc           frame_alloc throws std::bad_alloc; a test's replacement operator new asks
//                   allocation_fails() to do the same for every other allocation.
//
// Rules are process-wide; this_thread() restricts a rule to the events of one thread (allocation
// counting in a single-threaded runtime is deterministic that way).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>

#include "export.hpp"
#include "reactor.hpp"

namespace corio::detail::fault {

enum class point : std::uint8_t { result, short_transfer, enter, sq_full, tiny_cq, alloc };

/// What to inject and when. Made by one of the named constructors, refined by the others:
///   rule::result(io_kind::recv, -ECONNRESET).times(1)   the next recv is reset
///   rule::short_transfer(7)                               every read/write/recv/send <= 7 bytes
///   rule::enter(-EBUSY).every(3)                          every third io_uring_enter is busy
///   rule::alloc().skip(41).times(1).this_thread()         this thread's 42nd allocation fails
struct rule {
  static rule result(int res) { return rule(point::result, res); }
  static rule result(io_kind k, int res) { return rule(point::result, res).of(k); }
  static rule short_transfer(int max_bytes) { return rule(point::short_transfer, max_bytes); }
  static rule short_transfer(io_kind k, int max_bytes) { return short_transfer(max_bytes).of(k); }
  static rule enter(int res) { return rule(point::enter, res); }
  static rule sq_full() { return rule(point::sq_full, 0); }
  static rule tiny_cq(int entries) { return rule(point::tiny_cq, entries); }
  static rule alloc() { return rule(point::alloc, 0); }

  /// Only operations of this kind (result, short_transfer).
  rule of(io_kind k) const { rule r = *this; r.kind_ = k; return r; }
  /// Let `n` matching events pass before the first firing.
  rule skip(std::uint64_t n) const { rule r = *this; r.skip_ = n; return r; }
  /// Then fire on every `n`-th matching event.
  rule every(std::uint64_t n) const { rule r = *this; r.every_ = n ? n : 1; return r; }
  /// Fire at most `n` times ("the next n").
  rule times(std::uint64_t n) const { rule r = *this; r.times_ = n; return r; }
  /// Only events on the calling thread.
  rule this_thread() const { rule r = *this; r.thread_ = std::this_thread::get_id(); return r; }

  point where_ = point::result;
  std::optional<io_kind> kind_;
  int value_ = 0;  ///< forged result, length cap, enter result, ring size
  std::uint64_t skip_ = 0, every_ = 1, times_ = UINT64_MAX;
  std::thread::id thread_{};  ///< default: any thread

 private:
  rule(point where, int value) : where_(where), value_(value) {}
};

/// Arms `r`; returns its id (at most 16 rules at once; throws std::length_error beyond).
CORIO_TEST_API int arm(const rule& r);
/// Disarms one rule (an id of a disarmed rule is ignored).
CORIO_TEST_API void disarm(int id) noexcept;
void disarm_all() noexcept;
/// How many times rule `id` has fired / has seen a matching event (0 for an unknown id).
CORIO_TEST_API std::uint64_t fired(int id) noexcept;
CORIO_TEST_API std::uint64_t seen(int id) noexcept;

/// A rule armed for the lifetime of this object.
class armed {
 public:
  explicit armed(const rule& r) : id_(arm(r)) {}
  ~armed() { disarm(id_); }
  armed(const armed&) = delete;
  armed& operator=(const armed&) = delete;
  std::uint64_t fired() const noexcept { return fault::fired(id_); }
  std::uint64_t seen() const noexcept { return fault::seen(id_); }

 private:
  int id_;
};

// ---- Injection points, called by the library (and by a test's operator new). ----

/// Number of rules armed; the fast path of every injection point.
CORIO_TEST_API extern std::atomic<unsigned> armed_rules;
inline bool any_armed() noexcept { return armed_rules.load(std::memory_order_relaxed) != 0; }

bool forge_result_slow(io_kind kind, int* res) noexcept;
std::size_t cap_length_slow(io_kind kind, std::size_t len) noexcept;
int enter_result_slow() noexcept;
bool sq_full_slow() noexcept;
unsigned ring_entries_slow() noexcept;
CORIO_TEST_API bool allocation_fails_slow() noexcept;

/// True if an operation of `kind` must not run but complete with *res.
inline bool forge_result(io_kind kind, int* res) noexcept { return any_armed() && forge_result_slow(kind, res); }
/// The length an operation of `kind` may transfer (`len`, or less under short_transfer).
inline std::size_t cap_length(io_kind kind, std::size_t len) noexcept { return any_armed() ? cap_length_slow(kind, len) : len; }
/// 0, or the result io_uring_enter must return instead of being called.
inline int enter_result() noexcept { return any_armed() ? enter_result_slow() : 0; }
/// True if io_uring_get_sqe must report a full queue this time.
inline bool sq_full() noexcept { return any_armed() && sq_full_slow(); }
/// 0, or the number of entries of a ring created now.
inline unsigned ring_entries() noexcept { return any_armed() ? ring_entries_slow() : 0; }
/// True if this allocation must fail.
inline bool allocation_fails() noexcept { return any_armed() && allocation_fails_slow(); }

}  // namespace corio::detail::fault
