/* target_inject STATUS_FILE: a node for the injected call's tests
 * (agent/target/remote_call.h) that checks its own state: if an injected call
 * (or the agent's death in the middle of one) disturbs a thread, this process
 * notices and says so in its status file.
 *
 *  - "waiter" blocks in a raw read(2) of a pipe with known values in rbx,
 *    r12-r15 and xmm8-xmm15, a signal mask and an alternate signal stack; on
 *    each wake-up it checks them all (an injected call runs on this thread,
 *    so its registers, FPU state, mask and altstack must come back intact, and
 *    its read must restart, not fail with EINTR);
 *  - "sleeper" sleeps 100 ms with a raw nanosleep and checks it slept the
 *    full time without EINTR (a timed wait: the call must refuse it);
 *  - "inalloc" blocks in read(2) of another pipe under a frame named
 *    malloc_parked(): a thread the call must refuse as "inside the allocator";
 *  - main wakes the waiter every 100 ms and writes the status file:
 *    "ticks=M iter=N bad=B sleeps=S sleepbad=T altbad=A waiter=TID sleeper=TID
 *    inalloc=TID ready". ticks goes on even when the waiter is gone. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "target_util.h"

static int pipefd[2], allocfd[2];
static volatile long iter, bad, sleeps, sleepbad, altbad;
static volatile pid_t waiter_tid, sleeper_tid, inalloc_tid;
static char altstack[64 * 1024];

/* One read(2) of one byte with canaries around it; returns what read returned
 * and counts a mismatch in `bad`. */
static long read_with_canaries(uint64_t seed) {
  uint64_t out[13];
  char c;
  long ret;
  __asm__ volatile(
      "movq %[s], %%rbx\n\t"
      "leaq 1(%[s]), %%r12\n\t"
      "leaq 2(%[s]), %%r13\n\t"
      "leaq 3(%[s]), %%r14\n\t"
      "leaq 4(%[s]), %%r15\n\t"
      "movq %%rbx, %%xmm8\n\t movq %%r12, %%xmm9\n\t movq %%r13, %%xmm10\n\t movq %%r14, %%xmm11\n\t"
      "movq %%r15, %%xmm12\n\t movq %%rbx, %%xmm13\n\t movq %%r12, %%xmm14\n\t movq %%r13, %%xmm15\n\t"
      "xorl %%eax, %%eax\n\t"
      "syscall\n\t"
      "movq %%rbx, 0(%[o])\n\t movq %%r12, 8(%[o])\n\t movq %%r13, 16(%[o])\n\t movq %%r14, 24(%[o])\n\t"
      "movq %%r15, 32(%[o])\n\t"
      "movq %%xmm8, 40(%[o])\n\t movq %%xmm9, 48(%[o])\n\t movq %%xmm10, 56(%[o])\n\t movq %%xmm11, 64(%[o])\n\t"
      "movq %%xmm12, 72(%[o])\n\t movq %%xmm13, 80(%[o])\n\t movq %%xmm14, 88(%[o])\n\t movq %%xmm15, 96(%[o])\n\t"
      : "=a"(ret)
      : [s] "r"(seed), [o] "r"(out), "D"((long)pipefd[0]), "S"(&c), "d"(1L)
      : "rbx", "r12", "r13", "r14", "r15", "rcx", "r11", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
        "xmm14", "xmm15", "memory");
  uint64_t want[13] = {seed, seed + 1, seed + 2, seed + 3, seed + 4, seed, seed + 1, seed + 2, seed + 3, seed + 4,
                       seed, seed + 1, seed + 2};
  if (memcmp(out, want, sizeof want) != 0 || ret != 1) bad++;
  return ret;
}

static void* waiter(void* arg) {
  (void)arg;
  target_name_self("waiter");
  waiter_tid = target_tid();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  for (uint64_t seed = 0x5a5a000000000000ull;; seed += 16) {
    read_with_canaries(seed);
    sigset_t now;
    stack_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    sigaltstack(NULL, &cur);
    if (!sigismember(&now, SIGUSR2) || !sigismember(&now, SIGWINCH) || sigismember(&now, SIGUSR1) ||
        cur.ss_sp != altstack || cur.ss_size != sizeof altstack)
      altbad++;
    iter++;
  }
  return NULL;
}

static void* sleeper(void* arg) {
  (void)arg;
  target_name_self("sleeper");
  sleeper_tid = target_tid();
  for (;;) {
    struct timespec a, b, req = {0, 100 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    long r = syscall(SYS_nanosleep, &req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    if (r != 0 || ns < 100 * 1000 * 1000) sleepbad++;
    sleeps++;
  }
  return NULL;
}

/* Named like glibc's internal malloc_* helpers: the thread choice must see it
 * on the stack and refuse this thread. */
TARGET_KEEP_FRAME void malloc_parked(void) {
  char c;
  while (read(allocfd[0], &c, 1) != 0) {
  }
}

static void* inalloc(void* arg) {
  (void)arg;
  target_name_self("inalloc");
  inalloc_tid = target_tid();
  malloc_parked();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (pipe(pipefd) != 0 || pipe(allocfd) != 0) return 1;
  target_exit_on_sigterm();
  pthread_t w, s, a;
  pthread_create(&w, NULL, waiter, NULL);
  pthread_create(&s, NULL, sleeper, NULL);
  pthread_create(&a, NULL, inalloc, NULL);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
  for (long ticks = 1;; ++ticks) {
    struct timespec d = {0, 100 * 1000 * 1000};
    while (nanosleep(&d, &d) != 0) {
    }
    if (write(pipefd[1], "x", 1) != 1) return 1;
    FILE* f = fopen(tmp, "w");
    if (!f) return 1;
    fprintf(f, "ticks=%ld iter=%ld bad=%ld sleeps=%ld sleepbad=%ld altbad=%ld waiter=%d sleeper=%d inalloc=%d ready\n",
            ticks, iter, bad, sleeps, sleepbad, altbad, (int)waiter_tid, (int)sleeper_tid, (int)inalloc_tid);
    fclose(f);
    rename(tmp, argv[1]);
  }
}
