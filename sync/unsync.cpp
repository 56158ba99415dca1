// corio::unsync (unsync.hpp): thread tokens and the conflict report.

#include "unsync.hpp"

#include <fmt/format.h>

namespace corio::detail {

std::uint32_t unsync_thread_token() noexcept {
  static std::atomic<std::uint32_t> next{1};
  thread_local const std::uint32_t token = next.fetch_add(1, std::memory_order_relaxed);
  return token;
}

void throw_unsync_conflict(const void* object, const std::source_location& here, std::uint32_t here_thread,
                           const char* holder_file, std::uint32_t holder_line, std::uint32_t holder_thread) {
  throw usage_error(fmt::format(
      "corio::unsync: the object at {} is used from two threads at once: borrowed at {}:{} on thread #{} "
      "while thread #{} holds the borrow it took at {}:{} (share it through corio::mutex, or keep it on one task)",
      object, here.file_name(), here.line(), here_thread, holder_thread, holder_file, holder_line));
}

}  // namespace corio::detail
