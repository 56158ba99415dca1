#pragma once
// The initialisation handshake behind corio::once_cell<T>.
//
// status_: empty -> initializing (one caller runs the initialiser) -> ready (final), or back to
// empty / to the next waiter when the initialiser fails (throws, or its task is cancelled).
// Callers that find it `initializing` queue (a wait queue, runtime/detail/wait_queue.hpp);
// when it becomes ready they are all released `woken` (in batches); when it fails the head
// waiter is released `handed` the initialiser's role (the status stays `initializing`), so the
// initialiser runs once at a time and is retried until it succeeds. A waiter handed the role
// and abandoned before it resumes passes it on (abandon -> fail): a failure is never
// swallowed.
// status_ is stored with release once ready and the value is written before that, so
// `ready()` (an acquire load) is enough to read the value.

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/detail/wait_queue.hpp"
#include "spin_lock.hpp"

namespace corio::detail {

class CORIO_API once_core {
 public:
  enum class status : std::uint8_t { empty, initializing, ready };
  using waiter = wait_node;

  once_core() noexcept = default;
  explicit once_core(bool ready) noexcept : status_(ready ? status::ready : status::empty) {}
  once_core(const once_core&) = delete;
  once_core& operator=(const once_core&) = delete;

  bool ready() const noexcept { return status_.load(std::memory_order_acquire) == status::ready; }
  /// Becomes the initialiser if nobody is (true); never waits.
  bool try_begin() noexcept;
  /// Ready (woken), become the initialiser (handed), or queue `w` (waiting).
  wait_state begin(waiter& w, std::coroutine_handle<> h, const char* what);
  /// The initialiser stored the value: publish it and release every waiter.
  void succeed() noexcept;
  /// The initialiser failed: the head waiter takes over, or the cell is empty again.
  void fail() noexcept;
  void abandon(waiter& w) noexcept;

  /// Awaitable: true if the caller must run the initialiser, false once the value is ready.
  class [[nodiscard]] begin_awaitable {
   public:
    explicit begin_awaitable(once_core& c) noexcept : c_(&c) {}
    begin_awaitable(begin_awaitable&& o) noexcept : c_(o.c_) {}
    begin_awaitable& operator=(begin_awaitable&&) = delete;
    ~begin_awaitable() {
      if (node_.must_abandon()) c_->abandon(node_);  // queued, or handed the role: pass it on
    }
    bool await_ready() const noexcept { return c_->ready(); }
    bool await_suspend(std::coroutine_handle<> h);
    bool await_resume() noexcept {
      bool initialize = node_.outcome() == wait_state::handed;
      node_.consume();
      return initialize;
    }

   private:
    once_core* c_;
    waiter node_;
  };

 private:
  spin_lock lock_;
  std::atomic<status> status_{status::empty};
  wait_queue<waiter> queue_;
};

}  // namespace corio::detail
