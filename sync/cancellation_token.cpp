// cancellation_token. Each token's cancel_state has a spin lock over: the cancelled flag
// (also readable without it), its waiters, its children (an intrusive list of raw pointers;
// a child unlinks itself under its parent's lock when it dies), and an optional std::stop_source
// created on the first stop_token() call.
//
// cancel(): set the flag and take the waiters in batches under the lock (newcomers see the flag
// and do not wait), wake them; then request the stop (std::stop_callbacks are user code: no
// lock held); then take the children off the list one at a time: under the lock, unlink the
// first child and take a strong reference to it (weak_from_this: a child already dying is
// skipped; its destructor finds itself unlinked), then cancel it with no lock held. A cancelled
// token links no new children, so the list only shrinks and the loop ends. cancel() is noexcept
// and allocates nothing (no list of children is built).
// Lock order: a parent's lock is never taken while holding a child's.

#include "cancellation_token.hpp"

#include <mutex>
#include <optional>

#include "../runtime/detail/context.hpp"
#include "detail/spin_lock.hpp"

namespace corio::detail {

class cancel_state : public std::enable_shared_from_this<cancel_state> {
 public:
  using waiter = cancelled_awaitable::waiter;

  cancel_state() = default;
  cancel_state(const cancel_state&) = delete;
  cancel_state& operator=(const cancel_state&) = delete;
  ~cancel_state() {
    external_.reset();  // first: waits for a stop callback running on another thread
    if (parent_) {
      std::lock_guard g(parent_->lock_);
      if (linked_) parent_->unlink_child_locked(this);
    }
  }

  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  static std::shared_ptr<cancel_state> make_child(const std::shared_ptr<cancel_state>& parent) {
    auto c = std::make_shared<cancel_state>();
    c->parent_ = parent;
    bool cancel_now = false;
    {
      std::lock_guard g(parent->lock_);
      if (parent->cancelled_.load(std::memory_order_relaxed)) {
        cancel_now = true;
        c->parent_ = nullptr;  // no need to stay linked
      } else {
        c->next_sibling_ = parent->first_child_;
        if (parent->first_child_) parent->first_child_->prev_sibling_ = c.get();
        parent->first_child_ = c.get();
        c->linked_ = true;
      }
    }
    if (cancel_now) c->cancel();
    return c;
  }

  void link_stop_token(std::stop_token st) {
    struct on_stop {
      cancel_state* s;
      void operator()() const noexcept { s->cancel(); }
    };
    external_ = std::make_shared<std::stop_callback<on_stop>>(std::move(st), on_stop{this});
  }

  void cancel() noexcept {
    {
      std::unique_lock l(lock_);
      if (cancelled_.load(std::memory_order_relaxed)) return;  // someone else did it
      cancelled_.store(true, std::memory_order_release);
      waiters_.release_while(l, [](waiter&) { return wait_state::woken; });  // newcomers see the flag
    }
    request_stop();
    for (;;) {
      std::shared_ptr<cancel_state> child;
      {
        std::lock_guard g(lock_);
        cancel_state* c = first_child_;
        if (!c) break;
        unlink_child_locked(c);
        child = c->weak_from_this().lock();  // empty if the child is dying (it is unlinked now)
      }
      if (child) child->cancel();  // (and dropped here, no lock held: its destructor locks ours)
    }
  }

  /// Queues `w` unless cancelled (then returns false).
  bool wait_or_enqueue(waiter& w, std::coroutine_handle<> h, thread_parker* parker, const char* what) {
    std::lock_guard g(lock_);
    if (cancelled_.load(std::memory_order_relaxed)) return false;
    waiters_.enqueue(w, waker::for_waiter(h, parker, what));
    return true;
  }

  void abandon(waiter& w) noexcept {
    std::lock_guard g(lock_);
    waiters_.abandon(w);
  }

  std::stop_token stop_token() {
    bool request = false;
    std::stop_token t;
    {
      std::lock_guard g(lock_);
      if (!source_) source_.emplace();
      request = cancelled_.load(std::memory_order_relaxed);
      t = source_->get_token();
    }
    if (request) source_->request_stop();  // a cancel() that ran before the source existed
    return t;
  }

 private:
  void unlink_child_locked(cancel_state* c) noexcept {
    (c->prev_sibling_ ? c->prev_sibling_->next_sibling_ : first_child_) = c->next_sibling_;
    if (c->next_sibling_) c->next_sibling_->prev_sibling_ = c->prev_sibling_;
    c->prev_sibling_ = c->next_sibling_ = nullptr;
    c->linked_ = false;
  }

  void request_stop() noexcept {
    std::stop_source* s = nullptr;
    {
      std::lock_guard g(lock_);
      if (source_) s = &*source_;
    }
    if (s) s->request_stop();  // the source, once created, lives as long as the state
  }

  spin_lock lock_;
  std::atomic<bool> cancelled_{false};
  wait_queue<waiter> waiters_;
  std::shared_ptr<cancel_state> parent_;
  cancel_state* first_child_ = nullptr;  // under lock_
  cancel_state* prev_sibling_ = nullptr;  // under parent_->lock_
  cancel_state* next_sibling_ = nullptr;
  bool linked_ = false;  // on the parent's list; under parent_->lock_
  std::optional<std::stop_source> source_;
  std::shared_ptr<void> external_;  // the std::stop_callback linking an outside stop_token
};

}  // namespace corio::detail

namespace corio {

cancellation_token::cancellation_token() : s_(std::make_shared<detail::cancel_state>()) {}

cancellation_token::cancellation_token(std::stop_token st) : s_(std::make_shared<detail::cancel_state>()) {
  s_->link_stop_token(std::move(st));
}

cancellation_token cancellation_token::child_token() const {
  return cancellation_token(detail::cancel_state::make_child(s_));
}

void cancellation_token::cancel() const noexcept { s_->cancel(); }

bool cancellation_token::is_cancelled() const noexcept { return s_->cancelled(); }

std::stop_token cancellation_token::stop_token() const { return s_->stop_token(); }

void cancellation_token::blocking_wait() const {
  detail::check_may_block("corio::cancellation_token::blocking_wait");
  cancelled_awaitable::waiter w;
  detail::thread_parker parker;
  if (s_->wait_or_enqueue(w, {}, &parker, "corio::cancellation_token::blocking_wait")) parker.park();
}

cancelled_awaitable::~cancelled_awaitable() {
  if (node_.must_abandon()) s_->abandon(node_);
}

bool cancelled_awaitable::await_ready() const noexcept { return s_->cancelled(); }

bool cancelled_awaitable::await_suspend(std::coroutine_handle<> h) {
  if (s_->wait_or_enqueue(node_, h, nullptr, "corio::cancellation_token::cancelled")) return true;
  return detail::resume_or_yield(h, "corio::cancellation_token::cancelled");
}

}  // namespace corio
