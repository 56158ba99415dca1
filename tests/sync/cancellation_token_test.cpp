// corio::cancellation_token: cancel/is_cancelled, cancelled() awaiting, children (and
// grandchildren), std::stop_token in both directions, blocking_wait, cancellation of waiters.

#include <doctest/doctest.h>
#include <corio/sync/cancellation_token.hpp>

#include <atomic>
#include <stop_token>
#include <thread>
#include <vector>

#include "support/interleave.hpp"
#include "support/runtimes.hpp"

using namespace corio;
using test::settle;

namespace {

task<void> wait_cancelled(cancellation_token t) { co_await t.cancelled(); }

}  // namespace

TEST_SUITE("cancellation_token") {
  TEST_CASE("cancel wakes every waiter; later waits complete at once; cancel is idempotent") {
    cancellation_token t;
    auto rt = test::single();
    rt.block_on([](cancellation_token t) -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 40; ++i) hs.push_back(spawn(wait_cancelled(t)));
      co_await settle();
      for (auto& h : hs) CHECK_FALSE(h.is_finished());
      CHECK_FALSE(t.is_cancelled());
      t.cancel();
      t.cancel();
      CHECK(t.is_cancelled());
      for (auto& h : hs) co_await h;
      co_await t.cancelled();
    }(t));
  }

  TEST_CASE("children are cancelled with their parent, not the other way round") {
    cancellation_token root;
    auto child = root.child_token();
    auto grandchild = child.child_token();
    auto sibling = root.child_token();
    child.cancel();
    CHECK(child.is_cancelled());
    CHECK(grandchild.is_cancelled());
    CHECK_FALSE(root.is_cancelled());
    CHECK_FALSE(sibling.is_cancelled());
    root.cancel();
    CHECK(sibling.is_cancelled());
    auto late = root.child_token();  // made from a cancelled token: born cancelled
    CHECK(late.is_cancelled());
    CHECK(late != root);
    CHECK(root == cancellation_token(root));
  }

  TEST_CASE("dropped children leave the parent cleanly") {
    cancellation_token root;
    for (int i = 0; i < 100; ++i) {
      auto c = root.child_token();
      auto g = c.child_token();
    }
    auto kept = root.child_token();
    root.cancel();
    CHECK(kept.is_cancelled());
  }

  TEST_CASE("a task waiting on a child token is woken by the parent's cancel") {
    cancellation_token root;
    auto rt = test::multi(2);
    rt.block_on([](cancellation_token root) -> task<void> {
      auto h = spawn(wait_cancelled(root.child_token().child_token()));
      co_await yield_now();
      root.cancel();
      co_await h;
    }(root));
  }

  TEST_CASE("a cancelled wait leaves cleanly") {
    cancellation_token t;
    auto rt = test::single();
    rt.block_on([](cancellation_token t) -> task<void> {
      auto a = spawn(wait_cancelled(t));
      auto b = spawn(wait_cancelled(t));
      co_await settle();
      a.abort();
      CHECK_THROWS_AS(co_await a, cancelled);
      t.cancel();
      co_await b;
    }(t));
  }

  TEST_CASE("stop_token(): std::stop_callbacks run when the token is cancelled") {
    cancellation_token t;
    auto child = t.child_token();
    std::stop_token st = child.stop_token();
    CHECK_FALSE(st.stop_requested());
    std::atomic<bool> called{false};
    std::stop_callback cb(st, [&] { called = true; });
    t.cancel();
    CHECK(st.stop_requested());
    CHECK(called.load());
    cancellation_token already;
    already.cancel();
    CHECK(already.stop_token().stop_requested());  // made after the cancel
  }

  TEST_CASE("a token made from a std::stop_token is cancelled when the stop is requested") {
    std::stop_source src;
    cancellation_token t(src.get_token());
    auto child = t.child_token();
    CHECK_FALSE(t.is_cancelled());
    std::jthread th([&] { src.request_stop(); });
    th.join();
    CHECK(t.is_cancelled());
    CHECK(child.is_cancelled());
    std::stop_source stopped;
    stopped.request_stop();
    CHECK(cancellation_token(stopped.get_token()).is_cancelled());
    {
      std::stop_source s2;
      cancellation_token gone(s2.get_token());
    }  // the token dies first: its callback is unregistered
  }

  TEST_CASE("blocking_wait from a plain thread; misuse on a worker thread") {
    cancellation_token t;
    std::thread waiter([t] { t.blocking_wait(); });
    t.cancel();
    waiter.join();
    cancellation_token u;
    auto rt = test::single();
    rt.block_on([](cancellation_token u) -> task<void> {
      CHECK_THROWS_AS(u.blocking_wait(), usage_error);
      co_return;
    }(u));
  }
}
