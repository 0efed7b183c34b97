/* target_threads [N]: N threads (default 64) named t-1 .. t-N, each parked in
 * fan_outer() -> fan_inner() -> pthread_cond_wait on one shared condition
 * variable that is never signalled. The benchmark node for "dump 64 / 256
 * threads" (DESIGN.md §4). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "target_util.h"

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static volatile int g_released; /* never set */
static pid_t* g_tids;

TARGET_KEEP_FRAME int fan_inner(int index) {
  pthread_mutex_lock(&g_mutex);
  while (!g_released) pthread_cond_wait(&g_cond, &g_mutex);
  pthread_mutex_unlock(&g_mutex);
  return index;
}

TARGET_KEEP_FRAME int fan_outer(int index) {
  int r = fan_inner(index);
  __asm__ volatile("");
  return r + 1;
}

static void* fan_thread(void* arg) {
  int index = (int)(intptr_t)arg;
  char name[16];
  snprintf(name, sizeof name, "t-%d", index + 1);
  target_name_self(name);
  __atomic_store_n(&g_tids[index], target_tid(), __ATOMIC_RELEASE);
  return (void*)(intptr_t)fan_outer(index);
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 64;
  if (n < 1 || n > 10000) {
    fprintf(stderr, "usage: target_threads [N]  (1..10000, default 64)\n");
    return 2;
  }
  target_exit_on_sigterm();
  g_tids = calloc((size_t)n, sizeof *g_tids);
  /* Small stacks: 256 parked threads should not reserve 2 GiB of address space. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t first = 0;
  for (int i = 0; i < n; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, fan_thread, (void*)(intptr_t)i) != 0) {
      fprintf(stderr, "target_threads: cannot create thread %d\n", i + 1);
      return 1;
    }
    if (i == 0) first = t;
  }
  target_wait_parked(g_tids, n);
  target_ready();
  pthread_join(first, NULL);
  return 0;
}
