// Ports "the RwLock cache": one writer fills a HashMap under the write lock (and holds it for
// 100 ms), three readers then take read locks and look up "url1".
//
//   Rust                                  corio
//   Arc<RwLock<HashMap<String, String>>>  corio::rw_lock<std::unordered_map<...>>, borrowed by
//                                         the tasks of one corio::join_all (it outlives them)
//   cache.write().unwrap()                co_await cache.write()  (exclusive)
//   cache.read().unwrap()                 co_await cache.read()   (shared with other readers)
//   thread::sleep while holding the lock  co_await corio::sleep   (a corio guard may be held
//                                                                  across a suspension)
//
// One change for determinism: the article's readers sleep 150 ms and hope the writer got the
// lock first. Here the writer counts down a corio::latch once it holds the write lock, and the
// readers wait for that, so they always queue behind the writer and always find url1.

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

using namespace std::chrono_literals;

namespace {

using cache_map = std::unordered_map<std::string, std::string>;

corio::task<void> writer(corio::rw_lock<cache_map>& cache, corio::latch& writer_in) {
  auto guard = co_await cache.write();
  writer_in.count_down();
  fmt::print("Writer: Acquired write lock. Populating cache...\n");
  guard->emplace("url1", "Data for URL1");
  guard->emplace("url2", "Data for URL2");
  co_await corio::sleep(100ms);  // readers are waiting for the lock all this time
  fmt::print("Writer: Cache populated. Releasing write lock.\n");
}

corio::task<void> reader(int i, corio::rw_lock<cache_map>& cache, corio::latch& writer_in) {
  co_await writer_in.wait();
  auto guard = co_await cache.read();
  fmt::print("Reader {}: Acquired read lock.\n", i);
  if (auto it = guard->find("url1"); it != guard->end()) fmt::print("Reader {}: Found url1: '{}'\n", i, it->second);
}

corio::task<void> amain() {
  corio::rw_lock<cache_map> cache;
  corio::latch writer_in(1);
  std::vector<corio::task<void>> tasks;
  tasks.push_back(writer(cache, writer_in));
  for (int i = 0; i < 3; ++i) tasks.push_back(reader(i, cache, writer_in));
  co_await corio::join_all(std::move(tasks));
}

}  // namespace

int main() { corio::block_on(amain()); }
