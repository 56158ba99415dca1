#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "../../runtime/detail/frame_alloc.hpp"

namespace {

using corio::detail::frame_alloc;
using corio::detail::frame_alloc_statistics;
using corio::detail::frame_free;
using corio::detail::frame_pool_enabled;

bool aligned16(void const* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

void fill(void* p, std::size_t size, unsigned char tag) {
  auto* bytes = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<unsigned char>(tag + i * 7);
}

bool holds(void const* p, std::size_t size, unsigned char tag) {
  auto const* bytes = static_cast<unsigned char const*>(p);
  for (std::size_t i = 0; i < size; ++i)
    if (bytes[i] != static_cast<unsigned char>(tag + i * 7)) return false;
  return true;
}

std::size_t chunks() { return frame_alloc_statistics().chunks; }

struct xorshift {
  std::uint64_t state_;
  std::uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
};

// Destroyed at thread exit after the allocator's own per-thread cache (it is constructed
// before the thread's first frame_alloc), so it exercises allocation on a flushed cache.
struct late_user {
  void* block_ = nullptr;
  std::atomic<bool>* ok_ = nullptr;
  ~late_user() {
    if (!ok_) return;
    bool ok = holds(block_, 700, 0x5a);
    frame_free(block_, 700);
    for (std::size_t size : {700u, 40u, 3000u}) {
      void* p = frame_alloc(size);
      ok = ok && aligned16(p);
      fill(p, size, 0x11);
      ok = ok && holds(p, size, 0x11);
      frame_free(p, size);
    }
    ok_->store(ok);
  }
};

}  // namespace

TEST_SUITE("frame_alloc") {
  TEST_CASE("every size from 1 to 4096 is 16-aligned and fully writable") {
    constexpr std::size_t max_size = 4096;
    std::vector<void*> blocks(max_size + 1);
    std::size_t misaligned = 0;
    std::size_t corrupted = 0;
    for (std::size_t size = 1; size <= max_size; ++size) {
      blocks[size] = frame_alloc(size);
      if (!aligned16(blocks[size])) ++misaligned;
      fill(blocks[size], size, static_cast<unsigned char>(size));
    }
    // Verified only once all are live: overlapping blocks would have overwritten each other.
    for (std::size_t size = 1; size <= max_size; ++size) {
      if (!holds(blocks[size], size, static_cast<unsigned char>(size))) ++corrupted;
      frame_free(blocks[size], size);
    }
    CHECK(misaligned == 0);
    CHECK(corrupted == 0);
  }

  TEST_CASE("size 0 is accepted") {
    void* p = frame_alloc(0);
    CHECK(p != nullptr);
    CHECK(aligned16(p));
    frame_free(p, 0);
  }

  TEST_CASE("freed blocks are reused on the same thread without new chunks") {
    std::size_t const sizes[] = {1, 16, 17, 100, 511, 512, 513, 1000, 2047, 2048};
    for (std::size_t size : sizes) frame_free(frame_alloc(size), size);  // warm-up
    std::size_t const before = chunks();

    for (std::size_t size : sizes) {
      void* p = frame_alloc(size);
      frame_free(p, size);
      void* q = frame_alloc(size);
      if (frame_pool_enabled()) CHECK(q == p);
      frame_free(q, size);
    }
    // Different sizes of one class (17..32 round to 32) share blocks.
    void* p = frame_alloc(20);
    frame_free(p, 20);
    void* q = frame_alloc(32);
    if (frame_pool_enabled()) CHECK(q == p);
    frame_free(q, 32);

    // A steady alloc/free pattern only ever needs the blocks of its first round.
    auto churn = [&] {
      std::vector<std::pair<void*, std::size_t>> live;
      for (int round = 0; round < 200; ++round) {
        for (std::size_t size : sizes) live.emplace_back(frame_alloc(size), size);
        for (auto [block, size] : live) frame_free(block, size);
        live.clear();
      }
    };
    churn();
    std::size_t const after_first = chunks();
    churn();
    CHECK(chunks() == after_first);
    if (frame_pool_enabled()) CHECK(chunks() == before);
  }

  TEST_CASE("a producer allocates, a consumer frees, memory stays bounded") {
    constexpr std::uint64_t total = 1'000'000;
    constexpr std::size_t max_queued = 4096;
    auto size_of = [](std::uint64_t i) -> std::size_t { return 32 + (i % 8) * 32; };

    std::mutex mutex;
    std::condition_variable not_empty;
    std::condition_variable not_full;
    std::deque<void*> queue;
    bool done = false;
    std::size_t const before = chunks();
    std::size_t at_half = 0;
    std::uint64_t mismatches = 0;

    std::thread producer([&] {
      for (std::uint64_t i = 0; i < total; ++i) {
        if (i == total / 2) at_half = chunks();
        std::size_t const size = size_of(i);
        void* p = frame_alloc(size);
        std::memcpy(p, &i, sizeof i);
        std::uint64_t const tail = ~i;
        std::memcpy(static_cast<char*>(p) + size - sizeof tail, &tail, sizeof tail);
        std::unique_lock lock(mutex);
        not_full.wait(lock, [&] { return queue.size() < max_queued; });
        queue.push_back(p);
        if (queue.size() == 1) not_empty.notify_one();
      }
      std::lock_guard lock(mutex);
      done = true;
      not_empty.notify_one();
    });

    std::thread consumer([&] {
      std::deque<void*> taken;
      std::uint64_t expected = 0;
      for (;;) {
        {
          std::unique_lock lock(mutex);
          not_empty.wait(lock, [&] { return !queue.empty() || done; });
          if (queue.empty()) break;
          taken.swap(queue);
        }
        not_full.notify_one();
        for (void* p : taken) {
          std::size_t const size = size_of(expected);
          std::uint64_t head = 0;
          std::uint64_t tail = 0;
          std::memcpy(&head, p, sizeof head);
          std::memcpy(&tail, static_cast<char*>(p) + size - sizeof tail, sizeof tail);
          if (head != expected || tail != ~expected) ++mismatches;
          frame_free(p, size);
          ++expected;
        }
        taken.clear();
      }
      if (expected != total) ++mismatches;
    });

    producer.join();
    consumer.join();
    CHECK(mismatches == 0);
    std::size_t const after = chunks();
    INFO("chunks: before " << before << ", at half " << at_half << ", after " << after);
    // Holding 1,000,000 blocks of these sizes would take over 2,000 chunks; the blocks in
    // flight (at most two queues' worth) plus the caches need a few dozen.
    CHECK(after - before <= 128);
    CHECK(after - at_half <= 16);
  }

  TEST_CASE("many threads allocate and free concurrently, also across threads") {
    constexpr unsigned thread_count = 8;
    constexpr int steps = 40'000;
    constexpr std::size_t slots = 64;

    struct item {
      void* block = nullptr;
      std::size_t size = 0;
      unsigned char tag = 0;
    };
    struct mailbox {
      std::mutex mutex;
      std::vector<item> items;
    };
    std::vector<mailbox> mailboxes(thread_count);
    std::atomic<std::uint64_t> corrupted{0};
    std::atomic<std::uint64_t> misaligned{0};

    auto release = [&](item const& it) {
      if (!holds(it.block, it.size, it.tag)) corrupted.fetch_add(1);
      frame_free(it.block, it.size);
    };
    auto drain = [&](unsigned t) {
      std::vector<item> mine;
      {
        std::lock_guard lock(mailboxes[t].mutex);
        mine.swap(mailboxes[t].items);
      }
      for (item const& it : mine) release(it);
    };

    std::vector<std::thread> threads;
    for (unsigned t = 0; t < thread_count; ++t) {
      threads.emplace_back([&, t] {
        xorshift rng{0x9e3779b97f4a7c15ull * (t + 1)};
        item live[slots];
        for (int step = 0; step < steps; ++step) {
          std::uint64_t const r = rng.next();
          item& it = live[r % slots];
          if (it.block) {
            if ((r >> 8) % 4 == 0) {
              // Hand it to the next thread, which verifies and frees it.
              std::lock_guard lock(mailboxes[(t + 1) % thread_count].mutex);
              mailboxes[(t + 1) % thread_count].items.push_back(it);
            } else {
              release(it);
            }
            it = item{};
          } else {
            it.size = (r >> 16) % 16 == 0 ? 2049 + (r >> 24) % 2048 : 1 + (r >> 24) % 1024;
            it.tag = static_cast<unsigned char>(r >> 40);
            it.block = frame_alloc(it.size);
            if (!aligned16(it.block)) misaligned.fetch_add(1);
            fill(it.block, it.size, it.tag);
          }
          if (step % 256 == 0) drain(t);
        }
        for (item const& it : live)
          if (it.block) release(it);
      });
    }
    for (std::thread& th : threads) th.join();
    for (unsigned t = 0; t < thread_count; ++t) drain(t);
    CHECK(corrupted.load() == 0);
    CHECK(misaligned.load() == 0);
  }

  TEST_CASE("blocks cached by an exited thread are reused by another thread") {
    // Size 1500 (class 1536) is used by no other multi-threaded test.
    constexpr std::size_t size = 1500;
    constexpr std::size_t count = 100;
    std::set<void*> first_blocks;
    std::thread first([&] {
      std::vector<void*> blocks;
      for (std::size_t i = 0; i < count; ++i) {
        blocks.push_back(frame_alloc(size));
        fill(blocks.back(), size, 0x33);
      }
      for (void* p : blocks) frame_free(p, size);
      first_blocks.insert(blocks.begin(), blocks.end());
      // Exits with all of them in its cache.
    });
    first.join();

    auto const after_exit = frame_alloc_statistics();
    if (frame_pool_enabled()) CHECK(after_exit.depot_blocks >= count);

    std::size_t reused = 0;
    std::size_t corrupted = 0;
    std::thread second([&] {
      std::vector<void*> blocks;
      for (std::size_t i = 0; i < count; ++i) {
        void* p = frame_alloc(size);
        if (first_blocks.count(p)) ++reused;
        fill(p, size, 0x44);
        blocks.push_back(p);
      }
      for (void* p : blocks) {
        if (!holds(p, size, 0x44)) ++corrupted;
        frame_free(p, size);
      }
    });
    second.join();

    CHECK(corrupted == 0);
    if (frame_pool_enabled()) {
      CHECK(frame_alloc_statistics().chunks == after_exit.chunks);
      CHECK(reused >= count / 2);
    }
  }

  TEST_CASE("frames can be allocated and freed after the thread's cache is gone") {
    std::atomic<bool> ok{false};
    std::thread th([&] {
      // Constructed before this thread's first frame_alloc, hence destroyed after the cache.
      thread_local late_user user;
      user.ok_ = &ok;
      user.block_ = frame_alloc(700);
      fill(user.block_, 700, 0x5a);
      void* p = frame_alloc(40);
      frame_free(p, 40);
    });
    th.join();
    CHECK(ok.load());
  }
}
