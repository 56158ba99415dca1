#pragma once
// How corio reports an exception that escaped a detached task or blocking job and that no
// unhandled-exception hook took (runtime::builder::on_unhandled_exception): one line on stderr.
//
//   corio: <kind> <id> finished with an unhandled exception: <what()><suffix>
//   corio: <kind> <id> finished with an unhandled exception of a non-std type<suffix>
//
// Printed by the scheduler's default report (scheduler::report_unhandled), the blocking pool's
// (blocking_pool.cpp), and the hook of runtime::builder::abort_on_unhandled_exception (suffix
// "; aborting").

#include <cstdint>
#include <exception>

namespace corio::detail {

/// Prints the line above for `e` (not null) to stderr. `kind` names what finished ("task",
/// "blocking job"). Throws only what writing to stderr throws (fmt::print).
void print_unhandled(std::exception_ptr e, const char* kind, std::uint64_t id, const char* suffix = "");

}  // namespace corio::detail
