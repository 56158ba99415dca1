// Branch sets and the branch driver (branch_set.hpp has the waker protocol, branch_driver.hpp
// the life of a select).

#include "branch_set.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <utility>

#include "../error.hpp"
#include "branch_driver.hpp"
#include "context.hpp"
#include "frame_alloc.hpp"
#include "worker.hpp"

namespace corio::detail {

namespace ts = task_state;
namespace bt = branch_transition;

namespace {
constexpr std::size_t headers_offset =
    (sizeof(branch_set) + alignof(branch_header) - 1) / alignof(branch_header) * alignof(branch_header);
constexpr std::uint64_t bit(std::uint32_t i) noexcept { return std::uint64_t{1} << i; }
}  // namespace

// ---------------------------------------------------------------------------------------------
// branch_set

std::size_t branch_set::alloc_size(std::uint32_t n) noexcept { return headers_offset + n * sizeof(branch_header); }

branch_header* branch_set::headers() noexcept {
  return std::launder(reinterpret_cast<branch_header*>(reinterpret_cast<char*>(this) + headers_offset));
}

branch_set* branch_set::create(std::uint32_t n, task_header* parent) {
  auto* s = new (frame_alloc(alloc_size(n))) branch_set(n);
  char* base = reinterpret_cast<char*>(s) + headers_offset;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto* h = new (base + i * sizeof(branch_header)) branch_header;
    h->set = s;
    h->index = i;
    h->sched = parent->sched;
    h->id = parent->id;
    h->where = parent->where;
    h->state.store(ts::branch | ts::ref_one, std::memory_order_relaxed);
  }
  return s;
}

void branch_set::notify(std::uint64_t b) noexcept {
  if (bt::wake(ready_, b)) wake(token_);
}

void branch_set::release() noexcept {
  const std::uint32_t n = n_;
  branch_header* hs = headers();
  // Usually no waker outlived the select: every header holds only the driver's reference, and
  // none can gain one (a waker is made only while its branch runs, and they are all over). The
  // acquire loads pair with the release of a waker's last drop_ref, after which it no longer
  // touches the header. Then the set goes at once, without 2n read-modify-writes.
  bool only_ours = true;
  for (std::uint32_t i = 0; i < n && only_ours; ++i)
    only_ours = ts::refs(hs[i].state.load(std::memory_order_acquire)) == 1;
  if (only_ours) {
    for (std::uint32_t i = 0; i < n; ++i) hs[i].~branch_header();
    this->~branch_set();
    frame_free(this, alloc_size(n));
    return;
  }
  for (std::uint32_t i = 0; i < n; ++i) hs[i].drop_ref();  // the last one may free `this`
}

void branch_wake(task_header* t) noexcept {
  auto* b = static_cast<branch_header*>(t);
  b->set->notify(bit(b->index));
  b->drop_ref();
}

void branch_free(task_header* t) noexcept {
  auto* b = static_cast<branch_header*>(t);
  branch_set* s = b->set;
  b->~branch_header();
  if (s->alive_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::size_t size = branch_set::alloc_size(s->n_);
    s->~branch_set();
    frame_free(s, size);
  }
}

// ---------------------------------------------------------------------------------------------
// branch_driver

namespace {
/// Destroys what the driver was given (it failed before taking it).
void drop_specs(const branch_spec* specs, std::uint32_t n) noexcept {
  for (std::uint32_t i = 0; i < n; ++i) {
    if (specs[i].ops) specs[i].ops->drop(specs[i].awaiter);
    else specs[i].frame.destroy();
  }
}

// The handle a direct branch's await_suspend is given. Never resumed: corio's awaitables wake
// through make_waker / wake, and the driver, not the handle, continues a woken direct branch.
// An awaitable that resumed it anyway would be one that should not have opted in.
struct sentinel_coroutine {
  struct promise_type {
    sentinel_coroutine get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
  std::coroutine_handle<promise_type> h;
};

sentinel_coroutine make_sentinel() {
  std::fputs("corio: an awaitable driven in place by select/timeout resumed its coroutine handle directly\n",
             stderr);
  std::abort();
  co_return;
}

std::coroutine_handle<> branch_sentinel() {
  static const std::coroutine_handle<> h = make_sentinel().h;  // one frame for the process
  return h;
}
}  // namespace

branch_driver::current_branch_scope::current_branch_scope(task_header& b) noexcept
    : outer(std::exchange(this_thread().task, &b)) {}
branch_driver::current_branch_scope::~current_branch_scope() { this_thread().task = outer; }

branch_driver::branch_driver(const char* what, const branch_spec* specs, std::uint32_t n)
    : what_(what), parent_(this_thread().task) {
  try {
    if (!parent_ || !this_thread().current_worker)
      throw usage_error(fmt::format("{}: must be awaited inside a task running on a corio runtime", what));
    set_ = branch_set::create(n, parent_);
  } catch (...) {
    drop_specs(specs, n);
    throw;
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    branch_header& b = set_->at(i);
    if (specs[i].ops) {
      b.direct = specs[i].ops;
      b.awaiter = specs[i].awaiter;
    } else {
      b.root = b.resume = specs[i].frame;
    }
    b.live = true;
  }
  set_->ready_.store(bit(n) - 1, std::memory_order_relaxed);  // every branch runs once first
  parent_->hook = this;
}

branch_driver::~branch_driver() { finish(); }

void branch_driver::arm(std::chrono::steady_clock::time_point deadline) {
  arm(deadline, deadline <= this_thread().sched->clock().now());
}

void branch_driver::arm(std::chrono::steady_clock::time_point deadline, bool passed) {
  thread_context& c = this_thread();
  if (passed) {
    set_->notify(bit(set_->size()));
    return;
  }
  timer_node::deadline = c.sched->clock().deadline_tick(deadline);
  fire = &on_fire;
  armed_on_ = c.current_worker;
  armed_on_->arm_timer(this);
}

void branch_driver::on_fire(timer_node* n) noexcept {
  auto* d = static_cast<branch_driver*>(n);
  d->set_->notify(bit(d->set_->size()));
}

void branch_driver::disarm() noexcept {
  if (worker* w = std::exchange(armed_on_, nullptr)) w->disarm_timer(this);
}

void branch_driver::run_direct(branch_header& b) {
  if (b.started) {  // woken: a direct branch is woken once, when it has completed
    b.done = true;
    return;
  }
  thread_context& c = this_thread();
  b.started = true;
  bool now = false;
  {
    current_branch_scope scope(b);
    try {
      now = b.direct->start(b.awaiter, branch_sentinel());
    } catch (...) {  // its outcome: it wins with the exception, as a frame that threw would
      b.error = std::current_exception();
      now = true;
    }
  }
  if (now) {
    b.done = true;
  } else if (c.yield_requested) {  // done, but out of budget: it completes at the next round
    c.yield_requested = false;
    yield_ = true;
    set_->notify(bit(b.index));
  }
}

void branch_driver::run(branch_header& b) {
  if (b.direct) return run_direct(b);
  thread_context& c = this_thread();
  task_header* outer = std::exchange(c.task, &b);
  std::exception_ptr* root_exception = c.root_exception;  // a branch's final_suspend sets it
  b.resume.resume();
  c.task = outer;
  c.root_exception = root_exception;
  if (c.yield_requested) {  // the branch yielded (budget, yield_now, a long transfer chain)
    c.yield_requested = false;
    yield_ = true;
    set_->notify(bit(b.index));  // not parked: only marks it ready for the next round
  }
}

bool branch_driver::step() {
  std::uint64_t bits = bt::take(set_->ready_);
  const std::uint32_t n = set_->size();
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!(bits & bit(i))) continue;
    branch_header& b = set_->at(i);
    if (!b.live) continue;
    run(b);
    if (finished(b)) {
      winner_ = static_cast<int>(i);
      return true;
    }
  }
  if (bits & bit(n)) {  // the deadline, after the branch had its chance
    return true;
  }
  return false;
}

std::coroutine_handle<> branch_driver::park_op::await_suspend(std::coroutine_handle<> h) {
  if (d.yield_) {
    d.yield_ = false;
    return yield_to_scheduler(h, d.what_);
  }
  task_header* token = make_waker(h, d.what_);
  d.set_->token_ = token;
  if (bt::park(d.set_->ready_)) return std::noop_coroutine();
  d.set_->token_ = nullptr;  // a bit came in first: keep running
  token->drop_ref();
  return h;
}

void branch_driver::destroy(branch_header& b) noexcept {
  thread_context& c = this_thread();
  task_header* outer = std::exchange(c.task, &b);
  bool was_destroying = std::exchange(c.destroying, true);
  if (b.direct) {
    b.direct->drop(std::exchange(b.awaiter, nullptr));  // an awaiter's destructor does not throw
  } else {
    std::coroutine_handle<> f = std::exchange(b.root, {});
    try {
      f.destroy();
    } catch (...) {
      if (!c.destroy_exception) c.destroy_exception = std::current_exception();
    }
  }
  c.destroying = was_destroying;
  c.task = outer;
  b.live = false;
  b.cancelling = false;
  b.hook = nullptr;
  if (!was_destroying && c.destroy_exception && parent_->sched)
    parent_->sched->report_unhandled(std::exchange(c.destroy_exception, nullptr), parent_->id);
}

bool branch_driver::cancel_step(bool all) noexcept {
  std::uint64_t bits = bt::take(set_->ready_);
  bool pending = false;
  for (std::uint32_t i = 0; i < set_->size(); ++i) {
    branch_header& b = set_->at(i);
    if (!b.live || (!all && static_cast<int>(i) == winner_)) continue;
    if (!finished(b) && b.hook) {
      // Asked once, then again each time the branch is woken (as worker::cancel does).
      if (b.cancelling && !(bits & bit(i))) {
        pending = true;
        continue;
      }
      b.cancelling = true;
      if (!b.hook->cancel(&b)) {
        pending = true;
        continue;
      }
    }
    destroy(b);
  }
  return !pending;
}

bool branch_driver::cancel_losers() { return !cancel_step(false); }

bool branch_driver::cancel(task_header* self) noexcept {
  // The task was aborted while in the select; the worker owns it (nothing runs it).
  task_header* token = bt::unpark(set_->ready_) ? std::exchange(set_->token_, nullptr) : nullptr;
  for (;;) {
    if (cancel_step(true)) {
      if (token) token->drop_ref();
      disarm();
      return true;
    }
    if (!token) {  // a waker of our own, so that the pending branch's wake reaches the worker
      self->add_ref();
      token = self;
    }
    set_->token_ = token;
    if (bt::park(set_->ready_)) return false;
    set_->token_ = nullptr;  // a pending branch was woken meanwhile: ask again
  }
}

void branch_driver::abandon() noexcept {
  // Runtime shutdown: every operation has completed; release what they produced.
  for (std::uint32_t i = 0; i < set_->size(); ++i) {
    branch_header& b = set_->at(i);
    if (!b.live) continue;
    if (cancel_hook* h = std::exchange(b.hook, nullptr)) h->abandon();
    destroy(b);
  }
}

void branch_driver::finish() noexcept {
  if (!set_) return;
  for (std::uint32_t i = 0; i < set_->size(); ++i)
    if (set_->at(i).live) destroy(set_->at(i));
  disarm();
  if (bt::unpark(set_->ready_)) std::exchange(set_->token_, nullptr)->drop_ref();
  if (parent_->hook == this) parent_->hook = nullptr;
  std::exchange(set_, nullptr)->release();
}

}  // namespace corio::detail
