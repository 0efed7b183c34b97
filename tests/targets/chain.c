/* target_chain_{c,nofp,stripped}: one source built three ways (frame pointers at
 * -O0; -O2 without frame pointers; stripped with only .dynsym left), so the
 * unwinder and symbolizer tests can ask for the same stacks in each.
 *
 * Threads and the stacks they park in, innermost last:
 *   chain-1: chain_thread -> chain_outer -> chain_middle -> chain_inner -> pause
 *   chain-2: chain_thread -> chain_outer -> chain_middle -> chain_inner -> read (empty pipe)
 *   chain-3: chain_thread -> chain_outer -> chain_middle -> chain_inner -> nanosleep (1 h)
 *   main:    main -> pthread_join
 * The functions are defined in source order chain_inner, chain_middle,
 * chain_outer, chain_thread. They are not static so that -rdynamic exports them.
 * Each call's result is used afterwards and followed by an empty asm, so none
 * is a tail call: every frame is really on the stack. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "target_util.h"

enum { WAIT_SIGNAL = 1, WAIT_PIPE = 2, WAIT_SLEEP = 3 };

/* Never cleared: a condition the compiler cannot prove, so the waits are plain
 * loops that could end, and no function is inferred "noreturn". */
volatile int g_keep_waiting = 1;
int g_pipe[2];
pid_t g_tids[3];

TARGET_KEEP_FRAME int chain_inner(int kind) {
  int rounds = 0;
  char byte;
  struct timespec hour = {3600, 0};
  while (g_keep_waiting) {
    if (kind == WAIT_SIGNAL) {
      pause();
    } else if (kind == WAIT_PIPE) {
      if (read(g_pipe[0], &byte, 1) == 1) rounds += byte;
    } else {
      nanosleep(&hour, NULL);
    }
    ++rounds;
  }
  return rounds;
}

TARGET_KEEP_FRAME int chain_middle(int kind) {
  int r = chain_inner(kind);
  __asm__ volatile("");
  return r + 1;
}

TARGET_KEEP_FRAME int chain_outer(int kind) {
  int r = chain_middle(kind);
  __asm__ volatile("");
  return r + 2;
}

TARGET_KEEP_FRAME void* chain_thread(void* arg) {
  int kind = (int)(intptr_t)arg;
  char name[16];
  snprintf(name, sizeof name, "chain-%d", kind);
  target_name_self(name);
  __atomic_store_n(&g_tids[kind - 1], target_tid(), __ATOMIC_RELEASE);
  int r = chain_outer(kind);
  __asm__ volatile("");
  return (void*)(intptr_t)(r + 3);
}

int main(void) {
  target_exit_on_sigterm();
  if (pipe(g_pipe) != 0) {
    perror("pipe");
    return 1;
  }
  pthread_t threads[3];
  for (int kind = WAIT_SIGNAL; kind <= WAIT_SLEEP; ++kind)
    pthread_create(&threads[kind - 1], NULL, chain_thread, (void*)(intptr_t)kind);
  target_wait_parked(g_tids, 3);
  target_ready();
  pthread_join(threads[0], NULL);
  return 0;
}
