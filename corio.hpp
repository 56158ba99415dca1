#pragma once
// corio — a C++20 coroutine runtime for Linux. One include for everything:
//
//   #include <corio/corio.hpp>
//
// runtime/  task<T>, the work-stealing scheduler, spawn/join handles, join helpers, timers,
//           spawn_blocking, corio::par (data parallelism), fibers
// sync/     async mutex, rw_lock, semaphore, notify and friends, channels (usable from tasks
//           and plain threads), unsync<T>
// io/       sockets (net.hpp), files, pipes, stdio, buffered I/O, signals, over the reactor
//           behind the workers (io_uring, epoll fallback)

#include "runtime/error.hpp"
#include "runtime/join.hpp"
#include "runtime/join_handle.hpp"
#include "runtime/metrics.hpp"
#include "runtime/runtime.hpp"
#include "runtime/task.hpp"
#include "runtime/task_set.hpp"
#include "runtime/time.hpp"
#include "runtime/fiber.hpp"
#include "sync/barrier.hpp"
#include "sync/broadcast.hpp"
#include "sync/cancellation_token.hpp"
#include "sync/channel_error.hpp"
#include "sync/latch.hpp"
#include "sync/mpsc.hpp"
#include "sync/mutex.hpp"
#include "sync/notify.hpp"
#include "sync/once_cell.hpp"
#include "sync/oneshot.hpp"
#include "sync/rw_lock.hpp"
#include "sync/semaphore.hpp"
#include "sync/unsync.hpp"
#include "sync/wait_group.hpp"
#include "sync/watch.hpp"
#include "io/buffered_reader.hpp"
#include "io/buffered_writer.hpp"
#include "io/fs.hpp"
#include "io/net.hpp"
#include "io/signal.hpp"
#include "io/tls.hpp"
#include "runtime/blocking.hpp"
#include "runtime/par.hpp"
