/* target_heartbeat FILE: measures how long the agent stalls it. A thread
 * "heartbeat" wakes every 1 ms and keeps the longest lateness seen (gap between
 * two wake-ups minus the expected 1 ms, in microseconds). On SIGUSR2 it writes
 * "max_stall_us=<N> ticks=<T>\n" to FILE (replacing it) and starts a new window:
 * both the max and the tick count are reset, so each report covers the time
 * since the previous one. Also: idle-1..4 parked in idle_park() ->
 * pthread_cond_wait, and "busy" spinning in busy_loop(), so stacks of a running
 * thread can be taken too. Signals are taken by a sigwait thread, not a handler,
 * so the report is ordinary code and no wait is interrupted. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "target_util.h"

static const char* g_report_path;
static uint64_t g_max_stall_us; /* atomics via __atomic builtins */
static uint64_t g_ticks;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

TARGET_KEEP_FRAME void heartbeat_loop(void) {
  const struct timespec period = {0, 1000 * 1000};
  uint64_t prev = now_us();
  for (;;) {
    clock_nanosleep(CLOCK_MONOTONIC, 0, &period, NULL);
    uint64_t now = now_us();
    uint64_t late = now - prev > 1000 ? now - prev - 1000 : 0;
    prev = now;
    uint64_t seen = __atomic_load_n(&g_max_stall_us, __ATOMIC_RELAXED);
    while (late > seen &&
           !__atomic_compare_exchange_n(&g_max_stall_us, &seen, late, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
    __atomic_add_fetch(&g_ticks, 1, __ATOMIC_RELAXED);
  }
}

/* Writes beside the file and renames, so a reader never sees half a line. */
static void write_report(void) {
  uint64_t stall = __atomic_exchange_n(&g_max_stall_us, 0, __ATOMIC_RELAXED);
  uint64_t ticks = __atomic_exchange_n(&g_ticks, 0, __ATOMIC_RELAXED);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", g_report_path);
  FILE* f = fopen(tmp, "w");
  if (!f) {
    perror(tmp);
    return;
  }
  fprintf(f, "max_stall_us=%llu ticks=%llu\n", (unsigned long long)stall,
          (unsigned long long)ticks);
  fclose(f);
  if (rename(tmp, g_report_path) != 0) perror(g_report_path);
}

static pthread_mutex_t g_idle_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_idle_cond = PTHREAD_COND_INITIALIZER;
static volatile int g_idle_released; /* never set */

TARGET_KEEP_FRAME void idle_park(void) {
  pthread_mutex_lock(&g_idle_mutex);
  while (!g_idle_released) pthread_cond_wait(&g_idle_cond, &g_idle_mutex);
  pthread_mutex_unlock(&g_idle_mutex);
}

TARGET_KEEP_FRAME void busy_loop(void) {
  volatile uint64_t counter = 0;
  for (;;) ++counter;
}

static pid_t g_idle_tids[4];
static int g_running; /* heartbeat + busy, once in their loops */

static void* idle_thread(void* arg) {
  int i = (int)(intptr_t)arg;
  char name[32]; /* roomy for the compiler's format check; the name itself is short */
  snprintf(name, sizeof name, "idle-%d", i + 1);
  target_name_self(name);
  __atomic_store_n(&g_idle_tids[i], target_tid(), __ATOMIC_RELEASE);
  idle_park();
  return NULL;
}

static void* heartbeat_thread(void* arg) {
  (void)arg;
  target_name_self("heartbeat");
  target_started(&g_running);
  heartbeat_loop();
  return NULL;
}

static void* busy_thread(void* arg) {
  (void)arg;
  target_name_self("busy");
  target_started(&g_running);
  busy_loop();
  return NULL;
}

static void* signal_thread(void* arg) {
  const sigset_t* set = arg;
  target_name_self("signals");
  for (;;) {
    int sig = 0;
    if (sigwait(set, &sig) != 0) continue;
    if (sig == SIGUSR2) {
      write_report();
    } else {
      fflush(stdout);
      _exit(0); /* SIGTERM / SIGINT */
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: target_heartbeat REPORT_FILE\n");
    return 2;
  }
  g_report_path = argv[1];
  /* Blocked before any thread exists: all inherit the mask, only sigwait sees them. */
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  pthread_t t;
  pthread_create(&t, NULL, heartbeat_thread, NULL);
  pthread_create(&t, NULL, busy_thread, NULL);
  for (int i = 0; i < 4; ++i) pthread_create(&t, NULL, idle_thread, (void*)(intptr_t)i);
  pthread_t signals;
  pthread_create(&signals, NULL, signal_thread, &set);
  target_wait_parked(g_idle_tids, 4);
  target_wait_started(&g_running, 2);
  target_ready();
  pthread_join(signals, NULL);
  return 0;
}
