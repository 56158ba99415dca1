// Models of the fork-join pool's split Chase-Lev deque (runtime/par/detail/deque.hpp): the
// owner pushes and pops at the bottom, privately below the split and with the Chase-Lev
// protocol at it, publishes private jobs, while thieves steal public ones from the top; every
// job must be taken exactly once. The public part's correctness rests on the seq_cst fence
// between the owner's store of the split and its load of the top (and the thief's load of the
// top and the split): the negative test weakens that fence to acq_rel and shows that the
// explorer finds the job that is then taken twice.

#include <doctest/doctest.h>

#include "model/queue_models.hpp"
#include "runtime/par/detail/deque.hpp"

namespace {

namespace model = corio::model;
using corio::par::detail::job;
using deque = corio::par::detail::basic_work_deque<4>;

// Two jobs pushed; the owner pushes a third and pops until empty while `thieves` threads each
// steal twice. Afterwards every job was taken exactly once.
model::result owner_vs_thieves(const char* name, int thieves, model::options opt) {
  model::item_pool<job, 4> jobs;
  return model::explore(name, opt, [&] {
    jobs.reset();
    deque d;
    d.push(jobs.item(0));
    d.push(jobs.item(1));
    model::thread([&] {
      if (!d.push(jobs.item(2))) jobs.taken(jobs.item(2));  // full: the owner runs it itself
      for (int i = 0; i < 3; ++i)
        if (job* j = d.pop()) jobs.taken(j);
    });
    for (int t = 0; t < thieves; ++t)
      model::thread([&] {
        for (int i = 0; i < 2; ++i)
          if (job* j = d.steal()) jobs.taken(j);
      });
    model::run_threads();
    while (job* j = d.pop()) jobs.taken(j);
    jobs.check_each_once(3);
  });
}

// Three jobs pushed before the threads start (the first public, the others private); the owner
// publishes `publishes` of them (-1: publish_all), then pops until empty, while one thief
// steals three times.
model::result publish_then_pop(const char* name, int publishes, model::options opt) {
  model::item_pool<job, 4> jobs;
  return model::explore(name, opt, [&] {
    jobs.reset();
    deque d;
    for (int i = 0; i < 3; ++i) d.push(jobs.item(i));
    model::thread([&] {
      if (publishes < 0) d.publish_all();
      for (int i = 0; i < publishes; ++i) d.publish();
      while (job* j = d.pop()) jobs.taken(j);
    });
    model::thread([&] {
      for (int i = 0; i < 3; ++i)
        if (job* j = d.steal()) jobs.taken(j);
    });
    model::run_threads();
    while (job* j = d.pop()) jobs.taken(j);
    jobs.check_each_once(3);
  });
}

// The fork-join shape: the owner pushes, pops, pushes two, pops both (each pop may find the
// public part emptied by the thief and publish what is left), against a thief stealing three
// times; the slots are reused (capacity 4, five pushes).
model::result interleaved(const char* name, model::options opt) {
  model::item_pool<job, 4> jobs;
  return model::explore(name, opt, [&] {
    jobs.reset();
    deque d;
    d.push(jobs.item(0));
    model::thread([&] {
      auto push = [&](int i) {
        if (!d.push(jobs.item(i))) jobs.taken(jobs.item(i));
      };
      push(1);
      if (job* j = d.pop()) jobs.taken(j);
      push(2);
      push(3);
      for (int i = 0; i < 2; ++i)
        if (job* j = d.pop()) jobs.taken(j);
    });
    model::thread([&] {
      for (int i = 0; i < 3; ++i)
        if (job* j = d.steal()) jobs.taken(j);
    });
    model::run_threads();
    while (job* j = d.pop()) jobs.taken(j);
    jobs.check_each_once(4);
  });
}

}  // namespace

TEST_SUITE("model.par_deque") {
  TEST_CASE("owner push/pop against one thief: each job taken once") {
    auto r = owner_vs_thieves("par deque: owner vs 1 thief", 1, {});
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }

  TEST_CASE("owner pop against two thieves: each job taken once") {
    model::options opt;
    opt.preemption_bound = 2;
    auto r = owner_vs_thieves("par deque: owner vs 2 thieves", 2, opt);
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 10000);
  }

  TEST_CASE("owner publishes private jobs, then pops, against a thief: each job taken once") {
    for (int publishes = -1; publishes <= 3; ++publishes) {
      CAPTURE(publishes);
      auto r = publish_then_pop("par deque: publish then pop", publishes, {});
      CHECK_MESSAGE(!r.failed, r.failure);
      CHECK(r.executions > 100);
    }
  }

  TEST_CASE("owner pushes and pops in turn against a thief: each job taken once") {
    auto r = interleaved("par deque: push/pop interleaved", {});
    CHECK_MESSAGE(!r.failed, r.failure);
    CHECK(r.executions > 1000);
  }

  TEST_CASE("negative: with the handshake fence weakened to acq_rel, a job is taken twice") {
    model::options opt;
    opt.weaken_sc_fences = true;
    auto r = publish_then_pop("par deque, fence weakened (must fail)", 2, opt);
    REQUIRE(r.failed);
    CHECK(r.failure.find("taken twice") != std::string::npos);
    MESSAGE("the explorer's counterexample:\n" << r.failure);
  }
}
