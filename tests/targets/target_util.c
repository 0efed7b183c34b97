#include "target_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void target_name_self(const char* name) { pthread_setname_np(pthread_self(), name); }

pid_t target_tid(void) { return gettid(); }

static void exit_zero(int sig) {
  (void)sig;
  _exit(0); /* async-signal-safe; a target holds nothing worth cleaning up */
}

void target_exit_on_sigterm(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = exit_zero;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
}

/* The state letter of /proc/self/task/TID/stat: the field after the ")" that
 * closes the command name (which may itself contain spaces or parentheses). */
static char thread_state(pid_t tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  FILE* f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char* close = strrchr(buf, ')');
  return close && close[1] == ' ' ? close[2] : '?';
}

void target_wait_parked(const pid_t* tids, int count) {
  const struct timespec step = {0, 2 * 1000 * 1000};
  for (int tries = 0; tries < 2500; ++tries) { /* 2500 x 2 ms = 5 s */
    int parked = 0;
    for (int i = 0; i < count; ++i) {
      pid_t tid = __atomic_load_n(&tids[i], __ATOMIC_ACQUIRE);
      if (tid > 0 && thread_state(tid) == 'S') ++parked;
    }
    if (parked == count) return;
    nanosleep(&step, NULL);
  }
}

void target_started(int* counter) { __atomic_add_fetch(counter, 1, __ATOMIC_RELEASE); }

void target_wait_started(const int* counter, int expected) {
  const struct timespec step = {0, 1000 * 1000};
  for (int tries = 0; tries < 5000; ++tries) { /* 5000 x 1 ms = 5 s */
    if (__atomic_load_n(counter, __ATOMIC_ACQUIRE) >= expected) return;
    nanosleep(&step, NULL);
  }
}

void target_ready(void) {
  fputs("ready\n", stdout);
  fflush(stdout);
}
