// Ports "join_all over three async tasks": task_one, task_two and task_three run at the same
// time and join_all hands back all their results, in the order the tasks were given, whatever
// order they finish in. (The article's tasks are empty; here each sleeps a little and
// returns a string, so there is something to see.)
//
//   Rust                                  corio
//   async fn task_one() { ... }           corio::task<std::string> task_one()
//   vec![task_one(), task_two(), ...]     std::vector<corio::task<std::string>>  (one type for
//                                         every task, so this compiles; in Rust each async fn
//                                         is its own future type and needs boxing first)
//   join_all(tasks).await                 co_await corio::join_all(std::move(tasks))

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

corio::task<std::string> work(std::string name, std::chrono::milliseconds d) {
  co_await corio::sleep(d);
  fmt::print("{} finished after {} ms\n", name, d.count());
  co_return name + " done";
}

corio::task<std::string> task_one() { return work("task one", 30ms); }
corio::task<std::string> task_two() { return work("task two", 20ms); }
corio::task<std::string> task_three() { return work("task three", 10ms); }

corio::task<void> amain() {
  std::vector<corio::task<std::string>> tasks;
  tasks.push_back(task_one());
  tasks.push_back(task_two());
  tasks.push_back(task_three());

  std::vector<std::string> results = co_await corio::join_all(std::move(tasks));
  for (const std::string& r : results) fmt::print("result: {}\n", r);
}

}  // namespace

int main() { corio::block_on(amain()); }
