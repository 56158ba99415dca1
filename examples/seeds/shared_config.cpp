// Ports "shared config": three threads read one configuration through Arc clones.
//
//   Rust                                  corio
//   Arc<ImportantConfig>                  std::shared_ptr<const important_config>
//   Arc::clone(&config)                   a copy of the shared_ptr (one atomic increment)
//   thread::spawn(move || ...)            corio::spawn(use_config(i, config))  (by value)
//   handle.join().unwrap() for each       co_await each handle
//
// `const` gives what Arc<T> gives by default: shared, read-only access. To mutate, pair it
// with a lock (see mutex_counter.cpp).

#include <corio/corio.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

struct important_config {
  std::string api_url;
  std::uint32_t max_retries;
};

corio::task<void> use_config(int i, std::shared_ptr<const important_config> config) {
  fmt::print("Thread {}: Using API URL '{}' with max retries {}\n", i, config->api_url, config->max_retries);
  co_return;
}

corio::task<void> amain() {
  auto config = std::make_shared<const important_config>(important_config{
      .api_url = "https://api.example.com/data",
      .max_retries = 5,
  });

  std::vector<corio::join_handle<void>> handles;
  for (int i = 0; i < 3; ++i) handles.push_back(corio::spawn(use_config(i, config)));
  for (auto& handle : handles) co_await handle;
}

}  // namespace

int main() { corio::block_on(amain()); }
