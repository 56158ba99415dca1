// Ports "RwLock over a vector": five writers each add 1 to all ten elements of an
// Arc<RwLock<Vec<i32>>>, five readers print it. What a reader sees depends on how many
// writers went before it, but never a half-done write: every line shows ten equal values.
// (The last line, the final state, is added here.)
//
//   Rust                                  corio
//   Arc<RwLock<Vec<i32>>>                 std::shared_ptr<corio::rw_lock<std::vector<int>>>
//   data.write().unwrap(), w[i] += 1      auto w = co_await data->write(); (*w)[i] += 1;
//   data.read().unwrap(), {:?}            auto r = co_await data->read(); fmt "{}"

#include <corio/corio.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <vector>

namespace {

using shared_data = std::shared_ptr<corio::rw_lock<std::vector<int>>>;

corio::task<void> write_all_elements(shared_data data) {
  auto write_data = co_await data->write();
  for (int& x : *write_data) x += 1;
}

corio::task<void> read_all_elements(shared_data data) {
  auto read_data = co_await data->read();
  fmt::print("Read data: {}\n", *read_data);
}

corio::task<void> amain() {
  auto data = std::make_shared<corio::rw_lock<std::vector<int>>>(10, 0);  // vec![0; 10]
  std::vector<corio::join_handle<void>> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(corio::spawn(write_all_elements(data)));
  for (int i = 0; i < 5; ++i) handles.push_back(corio::spawn(read_all_elements(data)));
  for (auto& handle : handles) co_await handle;
  fmt::print("Final data: {}\n", *co_await data->read());
}

}  // namespace

int main() { corio::block_on(amain()); }
