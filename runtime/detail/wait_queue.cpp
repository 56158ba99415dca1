// The wait queue's one out-of-line part: the guard every blocking_* call runs before parking
// its thread (protocol in wait_queue.hpp).

#include "wait_queue.hpp"

#include <fmt/format.h>

#include "../error.hpp"
#include "context.hpp"

namespace corio::detail {

void check_may_block(const char* what) {
  if (this_thread().current_worker)
    throw usage_error(fmt::format("{}: called on a corio worker thread, where blocking would stall every task "
                                  "queued on it; use co_await instead",
                                  what));
}

}  // namespace corio::detail
