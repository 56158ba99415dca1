#pragma once
// The atomics shim of the lock-free core: every atomic of the run queues, the task state word,
// the par deque and the sync waiter queues is declared through it, so that one build can swap
// them for instrumented ones and model-check the algorithms (tests/model/, docs/internals.md).
//
// In a normal build these are plain aliases of the standard types: `detail::atomic<T>` IS
// `std::atomic<T>`, the fence IS `std::atomic_thread_fence`; no wrapper, no cost, the same
// generated code. With CORIO_MODEL_CHECK defined (only the `model_tests` binary, which does not
// link libcorio) they name the explorer's types instead: each operation becomes a scheduling
// point of a deterministic interleaving explorer that also models weak memory (which store a
// load may read), and `mutex` becomes a lock the explorer can block on (a real std::mutex
// would hang the one OS thread the model threads share).
//
//   atomic<T>              std::atomic<T>             every member the core uses
//   atomic_thread_fence    std::atomic_thread_fence
//   mutex                  std::mutex                 lock/unlock/try_lock (for lock_guard)
//   spin_loop_hint()       nothing                    "I wait for another thread": the
//                                                     explorer runs someone else
//
// Code under the shim must use only these (no std::atomic_ref, no wait/notify) and must not
// create its atomics before a model execution starts (no statics).

#ifdef CORIO_MODEL_CHECK
#include "model/shim.hpp"  // found on the model binary's include path (tests/model/)
#else
#include <atomic>
#include <mutex>
#endif

namespace corio::detail {

#ifdef CORIO_MODEL_CHECK
template <class T>
using atomic = ::corio::model::atomic<T>;
using ::corio::model::atomic_thread_fence;
using mutex = ::corio::model::mutex;
inline void spin_loop_hint() noexcept { ::corio::model::spin_loop_hint(); }
#else
template <class T>
using atomic = std::atomic<T>;
using std::atomic_thread_fence;
using mutex = std::mutex;
inline void spin_loop_hint() noexcept {}
#endif

}  // namespace corio::detail
