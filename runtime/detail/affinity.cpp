// CPU affinity of corio's own threads (affinity.hpp).

#include "affinity.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

namespace corio::detail {

namespace {
bool main_thread_set(cpu_set_t& set) noexcept {
  CPU_ZERO(&set);
  return sched_getaffinity(getpid(), sizeof set, &set) == 0;  // the main thread's tid is the pid
}
}  // namespace

std::vector<int> process_cpus() {
  cpu_set_t set;
  std::vector<int> cpus;
  if (!main_thread_set(set)) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

void pin_current_thread(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

void unpin_current_thread() noexcept {
  cpu_set_t want, have;
  if (!main_thread_set(want)) return;
  CPU_ZERO(&have);
  if (pthread_getaffinity_np(pthread_self(), sizeof have, &have) == 0 && CPU_EQUAL(&want, &have)) return;
  (void)pthread_setaffinity_np(pthread_self(), sizeof want, &want);
}

}  // namespace corio::detail
