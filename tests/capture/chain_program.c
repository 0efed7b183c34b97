// The capture/unwind tests' own target, for what the shared ones in
// tests/targets/ do not cover: a non-PIE build and thread churn. Threads chain-1..N parked in chain_outer -> chain_middle -> chain_inner ->
// pause / read / nanosleep (by thread number), main parked in pause. Prints
// "ready" once every thread is inside its blocking call (as near as can be
// told from outside).
//   chain_program [threads] [--churn | --vfork]
// --churn adds a thread that starts and joins short-lived threads forever,
// so that a capture meets threads that vanish.
// --vfork: a thread "vforker" vforks a child that pauses (never execs), so
// it sits in the kernel's vfork wait, a sleep that PTRACE_INTERRUPT cannot
// end: the thread a capture can never stop. The child is the program's only
// child process (find it by its ppid).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int parked;
static int pipe_fds[2];

// noinline + an empty asm after each call: no inlining, no tail calls, so
// every level keeps a frame of its own even at -O2.
__attribute__((noinline)) void chain_inner(int n) {
  atomic_fetch_add(&parked, 1);
  switch (n % 3) {
    case 0: pause(); break;
    case 1: { char c; if (read(pipe_fds[0], &c, 1) < 0) perror("read"); break; }
    default: { struct timespec ts = {100000, 0}; nanosleep(&ts, NULL); break; }
  }
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void chain_middle(int n) {
  chain_inner(n);
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void chain_outer(int n) {
  chain_middle(n);
  __asm__ volatile("" ::: "memory");
}

static void* chain_thread(void* arg) {
  int n = (int)(long)arg;
  char name[16];
  snprintf(name, sizeof name, "chain-%d", n);
  pthread_setname_np(pthread_self(), name);
  chain_outer(n);
  return NULL;
}

static void* short_lived(void* arg) { (void)arg; return NULL; }

static void* churn_thread(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "churn");
  for (;;) {
    pthread_t t;
    if (pthread_create(&t, NULL, short_lived, NULL) == 0) pthread_join(t, NULL);
  }
  return NULL;
}

static void* vfork_thread(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "vforker");
  if (vfork() == 0) {
    for (;;) pause();  // the vfork child: syscalls only, never returns
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 3;
  int churn = argc > 2 && strcmp(argv[2], "--churn") == 0;
  int stuck = argc > 2 && strcmp(argv[2], "--vfork") == 0;
  if (pipe(pipe_fds) != 0) return 1;
  for (int i = 1; i <= threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, chain_thread, (void*)(long)i) != 0) return 1;
  }
  while (atomic_load(&parked) < threads) usleep(1000);
  usleep(20000);  // let the last one enter its syscall
  if (churn) {
    pthread_t t;
    pthread_create(&t, NULL, churn_thread, NULL);
  }
  if (stuck) {
    pthread_t t;
    pthread_create(&t, NULL, vfork_thread, NULL);
    usleep(50000);  // let it reach the vfork wait
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
