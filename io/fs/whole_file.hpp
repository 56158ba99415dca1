#pragma once
// Whole-file helpers of corio::fs: read a file into memory, or replace its contents, in one
// call.
//
//   std::string text = co_await fs::read_to_string("config.toml");
//   std::vector<std::byte> blob = co_await fs::read_bytes("image.png");
//   co_await fs::write("out.txt", text);            // creates or truncates
//
// Each opens the file, loops over reads or writes on the worker's reactor (see file.hpp for
// what that means on each backend) and closes it. Errors are std::system_error naming the path.
// `write` reports the close's result too, so a delayed write error is not lost. The data given
// to `write` must stay valid until the returned task completes.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../../runtime/detail/export.hpp"
#include "../../runtime/task.hpp"

namespace corio::fs {

/// The whole contents of `path` (any bytes; no UTF-8 check). std::system_error naming the
/// path on failure. Cancel-safe: dropped, nothing changes (the file is closed).
CORIO_API task<std::string> read_to_string(std::string path);
/// The whole contents of `path`; as read_to_string.
CORIO_API task<std::vector<std::byte>> read_bytes(std::string path);
/// Replaces the contents of `path` with `data`, creating the file (mode 0666 less the umask)
/// if needed. std::system_error naming the path on failure. Not cancel-safe: dropped part-way,
/// the file may be truncated and hold a prefix of `data`.
CORIO_API task<void> write(std::string path, std::string_view data);
/// The same for raw bytes.
CORIO_API task<void> write(std::string path, std::span<const std::byte> data);

}  // namespace corio::fs
