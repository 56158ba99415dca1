// Models of the mpsc channel's shared state (sync/detail/mpsc_chan.hpp, the real header under
// the shim, with its spin lock), driven the way the awaitables of sync/mpsc.hpp drive it: a
// send or receive that waits parks its fake task and, once woken, reads its node's outcome
// (after the wake); a cancelled one runs what the awaitable's destructor runs (abandon_send /
// abandon_recv after must_abandon, the acquire load of the state). What is checked:
//  - every message is received or destroyed exactly once (an oracle counts both; a refused
//    send must hand its value back intact, a successful one must have given it away);
//  - per-sender order, and a receive sees the end only once every sender is gone and every
//    message sent was received;
//  - every waker is woken or dropped exactly once (no waiter left behind), and no run waits
//    forever (the explorer reports deadlocks);
//  - the message object itself is race-checked (a model::cell): whoever moves, reads or
//    destroys it must be ordered after whoever wrote it, which is what makes the acquire in
//    ~send_awaitable necessary (the negative test weakens it and is caught).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "model/fake_runtime.hpp"
#include "sync/detail/mpsc_chan.hpp"

namespace {

namespace model = corio::model;

struct world;

// A message: its id lives in a race-checked cell (-1 once moved from or received), and its
// destructor reports a message destroyed without having been received.
struct msg {
  msg(int i, world* w);
  msg(msg&& o) noexcept : w_(o.w_) {
    id_.set(o.id_.get("message moved from"), "message moved into");
    o.id_.set(-1, "message moved from");
  }
  msg& operator=(msg&&) = delete;
  ~msg();

  int id() const { return id_.get("message read"); }
  /// The receiver takes the message: the oracle counts it received.
  int take();

  model::cell<int> id_{-1};
  world* w_;
};

using chan = corio::detail::mpsc::chan<msg>;
using outcome = chan::outcome;
using corio::detail::wait_state;

constexpr int max_msgs = 4;
constexpr int max_ops = 5;  // operations that may wait, per model thread

struct world {
  explicit world(std::size_t cap) : c(new chan(cap)) {}  // the chan deletes itself (refs)

  chan* c;
  model::fake_task tasks[4][max_ops];  // [thread][operation]: each wait gets a fresh fake task
  int made[max_msgs] = {}, received[max_msgs] = {}, destroyed[max_msgs] = {}, handed_back[max_msgs] = {};
  std::vector<int> order;  // ids in the order received
  int total_senders = 1, senders_gone = 0;
  bool end_seen = false;

  void use_task(int me, int op) {
    model::check(op < max_ops, "model: too many operations on one thread");
    model::set_fake_task(me, &tasks[me][op]);
  }

  // As co_await tx.send(v) (send_awaitable): sent, or refused with the value handed back.
  bool send(int me, int op, int id) {
    msg v(id, this);
    chan::send_node n;
    use_task(me, op);
    bool ok = false;
    switch (c->send(n, v, {}, nullptr, "model send")) {
      case outcome::done:
        ok = true;
        break;
      case outcome::closed:
        break;
      case outcome::queued: {
        tasks[me][op].wait();
        wait_state s = n.outcome();
        model::check(s == wait_state::woken || s == wait_state::closed, "a woken send is sent or closed");
        ok = s == wait_state::woken;
        break;
      }
    }
    check_value(v, id, ok);
    return ok;
  }

  // As a send_awaitable destroyed (its task cancelled) after it started to wait: its value is
  // either in the channel by now or destroyed with the awaitable. `broken_relaxed`: the
  // destructor reads the state relaxed (must fail).
  void cancelled_send(int me, int op, int id, bool broken_relaxed = false) {
    msg v(id, this);
    chan::send_node n;
    use_task(me, op);
    switch (c->send(n, v, {}, nullptr, "model send")) {
      case outcome::done:
        check_value(v, id, true);
        return;
      case outcome::closed:
        check_value(v, id, false);
        return;
      case outcome::queued:
        break;
    }
    n.outcome();  // some time passes: room may appear, the value be taken
    bool abandon;  // ~send_awaitable
    if (broken_relaxed) {
      wait_state s = corio::detail::wait_node_access::relaxed_state(n);
      abandon = s == wait_state::waiting || s == wait_state::handed;
    } else {
      abandon = n.must_abandon();
    }
    if (abandon) c->abandon_send(n);
    // ~msg: destroyed here if it was not taken (the oracle counts it)
  }

  // As co_await rx.recv() (recv_awaitable): a message id, or -1 at the end.
  int recv(int me, int op) {
    chan::recv_node n;
    use_task(me, op);
    if (c->recv(n, {}, nullptr, "model recv") == outcome::queued) tasks[me][op].wait();
    wait_state s = n.outcome();
    model::check(s == (n.value ? wait_state::handed : wait_state::woken), "a woken receive is done");
    n.consume();
    return took(n.value);
  }

  // As a recv_awaitable destroyed before it resumed: it may have been given a message, which
  // goes back to the channel.
  void cancelled_recv(int me, int op) {
    chan::recv_node n;
    use_task(me, op);
    c->recv(n, {}, nullptr, "model recv");
    n.outcome();  // some time passes
    if (n.must_abandon()) c->abandon_recv(n);  // ~recv_awaitable
    model::check(!n.value || n.value->id() == -1, "an abandoned receive gave its message back");
  }

  int took(std::optional<msg>& v) {
    if (!v) {
      end_seen = true;
      model::check(senders_gone == total_senders, "the end seen only once every sender is gone");
      return -1;
    }
    int id = v->take();
    order.push_back(id);
    return id;
  }

  void check_value(msg& v, int id, bool sent) {
    if (sent) {
      model::check(v.id() == -1, "a sent message was moved into the channel");
    } else {
      model::check(v.id() == id, "a refused message is handed back intact");
      ++handed_back[id];
    }
  }

  void drop_sender() {
    ++senders_gone;  // before: the end may be seen as soon as the count reaches zero
    c->drop_sender();
  }
  void drop_receiver() {
    c->receiver_gone();
    c->drop_ref();
  }

  void check_end() {
    for (int i = 0; i < max_msgs; ++i)
      model::check(received[i] + destroyed[i] == made[i], "every message received or destroyed exactly once");
    for (auto& per_thread : tasks)
      for (auto& t : per_thread) model::check(t.balanced(), "every waker woken or dropped once");
  }
};

msg::msg(int i, world* w) : w_(w) {
  id_.set(i, "message written");
  ++w->made[i];
}
msg::~msg() {
  if (int i = id_.get("message destroyed"); i >= 0) ++w_->destroyed[i];
}
int msg::take() {
  int i = id();
  model::check(i >= 0, "a received message holds a value");
  ++w_->received[i];
  id_.set(-1, "message taken");
  return i;
}

// (a) Two senders into a channel of capacity 1 (A sends `a_msgs` messages, 0.., B sends one,
// id 3), so sends wait for room; the receiver receives until the end.
model::result two_senders(const char* name, int a_msgs, model::options opt = {}) {
  return model::explore(name, opt, [a_msgs] {
    world w(1);
    w.total_senders = 2;
    w.c->add_sender();  // the second sender, cloned from the first
    model::thread([&w, a_msgs] {
      for (int i = 0; i < a_msgs; ++i) w.send(1, i, i);
      w.drop_sender();
    });
    model::thread([&w] {
      w.send(2, 0, 3);
      w.drop_sender();
    });
    model::thread([&w] {
      for (int op = 0; w.recv(3, op) >= 0; ++op) {
      }
      w.drop_receiver();
    });
    model::run_threads();
    for (int i = 0; i < a_msgs; ++i) model::check(w.received[i] == 1, "each of A's messages received once");
    model::check(w.received[3] == 1, "B's message received once");
    w.check_end();
    model::check(w.end_seen && w.order.size() == static_cast<std::size_t>(a_msgs) + 1,
                 "the receiver saw every message, then the end");
    int last_a = -1;
    for (int id : w.order)
      if (id < 3) {
        model::check(id > last_a, "per-sender order");
        last_a = id;
      }
  });
}

// (b) A sender sends three messages through capacity 1 while the receiver takes one and is
// dropped: the others are never received, but each is destroyed exactly once — queued in the
// ring (by the receiver going away), or refused and handed back to the sender.
model::result receiver_dropped(const char* name) {
  return model::explore(name, {}, [] {
    world w(1);
    bool sent[3] = {};
    model::thread([&w, &sent] {
      for (int i = 0; i < 3; ++i) sent[i] = w.send(1, i, i);
      w.drop_sender();
    });
    model::thread([&w] {
      model::check(w.recv(2, 0) == 0, "the first message received");
      w.drop_receiver();
    });
    model::run_threads();
    w.check_end();
    model::check(w.received[0] == 1 && w.destroyed[1] == 1 && w.destroyed[2] == 1,
                 "the later messages destroyed, not received");
    for (int i = 0; i < 3; ++i)
      model::check(sent[i] == (w.handed_back[i] == 0), "a refused message handed back, a sent one not");
    model::check(sent[1] || !sent[2], "once refused, always refused");
  });
}

// (c) A send waiting for room (capacity 1, full) is cancelled while the receiver makes room:
// the message is delivered, or destroyed with the cancelled send, exactly once.
model::result cancelled_send(const char* name, bool broken_relaxed) {
  return model::explore(name, {}, [broken_relaxed] {
    world w(1);
    model::thread([&w, broken_relaxed] {
      w.send(1, 0, 0);
      w.cancelled_send(1, 1, 1, broken_relaxed);
      w.drop_sender();
    });
    model::thread([&w] {
      model::check(w.recv(2, 0) == 0, "the first message received");
      w.recv(2, 1);  // the second message, or the end
      w.drop_receiver();
    });
    model::run_threads();
    w.check_end();
    model::check(w.received[0] == 1 && w.destroyed[0] == 0, "the first message received");
  });
}

// (d) A receive cancelled (waiting, or after it was handed a message) while a sender sends two
// messages through capacity 1; the receiver then receives until the end: both messages
// received, in order, exactly once (what the cancelled receive got went back to the front).
model::result cancelled_recv(const char* name) {
  return model::explore(name, {}, [] {
    world w(1);
    model::thread([&w] {
      w.send(1, 0, 0);
      w.send(1, 1, 1);
      w.drop_sender();
    });
    model::thread([&w] {
      w.cancelled_recv(2, 0);
      for (int op = 1; w.recv(2, op) >= 0; ++op) {
      }
      w.drop_receiver();
    });
    model::run_threads();
    w.check_end();
    model::check(w.order == std::vector<int>{0, 1}, "both messages received, in order");
  });
}

}  // namespace

TEST_SUITE("model.mpsc") {
  TEST_CASE("two senders, one waiting for room: each message once, then the end") {
    auto r = two_senders("mpsc: 2 senders (cap 1) vs receiver", 1);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 100000);
  }
  TEST_CASE("two senders, one sending two messages: per-sender order (preemption bound 1)") {
    model::options opt;
    opt.preemption_bound = 1;  // bound 2 explores 1.8 million executions (about 12 s)
    auto r = two_senders("mpsc: 2 senders, 2+1 messages (cap 1) vs receiver, bound 1", 2, opt);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 10000);
  }
  TEST_CASE("a send racing the receiver being dropped: received or destroyed exactly once") {
    auto r = receiver_dropped("mpsc: send vs receiver dropped");
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("a waiting send cancelled while room appears: delivered or destroyed exactly once") {
    auto r = cancelled_send("mpsc: cancelled send vs recv", false);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("a receive cancelled waiting or after delivery: the message goes back, order kept") {
    auto r = cancelled_recv("mpsc: cancelled recv vs sends");
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }
  TEST_CASE("negative: a cancelled send reading its state relaxed races with the hand-off") {
    auto r = cancelled_send("mpsc, cancelled send reads state relaxed (must fail)", true);
    REQUIRE(r.failed);
    CHECK(r.failure.find("data race") != std::string::npos);
    MESSAGE("the explorer's counterexample:\n" << r.failure);
  }
}
