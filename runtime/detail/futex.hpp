#pragma once
// Linux futexes on a 32-bit atomic word, process-private: the sleeping primitive under the
// blocking pool's idle threads and corio::par's parkers. Every wait may return spuriously;
// callers re-check their condition in a loop.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "export.hpp"

namespace corio::detail {

/// Sleeps while `word` holds `expected`, until a futex_wake (or spuriously).
CORIO_API void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept;
/// futex_wait for at most `timeout`.
void futex_wait_for(std::atomic<std::uint32_t>& word, std::uint32_t expected, std::chrono::nanoseconds timeout) noexcept;
/// Wakes up to `count` threads sleeping on `word`.
CORIO_API void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace corio::detail
