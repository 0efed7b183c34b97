/* heap_node REPORT_FILE [MIB]: a fat glibc node for bench/heap.sh, about MIB
 * (default 1024) MiB resident in thousands of mappings:
 *  - 4 threads "alloc-N", each in its own malloc arena: 40,000 blocks of
 *    32..2048 bytes, every third freed (the walk has bins to read), then
 *    parked in pthread_cond_wait (threads an injected call may use);
 *  - 1/4 of MIB in malloc'd blocks of 512 KiB (glibc mmapped chunks);
 *  - the rest in 256 KiB mmaps whose last page is made read-only, so no two
 *    merge: two mappings each;
 *  - "heartbeat" wakes every 1 ms and keeps the longest lateness; on SIGUSR2
 *    (taken by a sigwait thread) it writes "max_stall_us=N ticks=T" to
 *    REPORT_FILE and starts a new window. Prints "ready" when all is in place. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char* report;
static uint64_t max_stall_us, ticks;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int parked;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void* heartbeat(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "heartbeat");
  const struct timespec period = {0, 1000 * 1000};
  uint64_t prev = now_us();
  for (;;) {
    clock_nanosleep(CLOCK_MONOTONIC, 0, &period, NULL);
    uint64_t now = now_us();
    uint64_t late = now - prev > 1000 ? now - prev - 1000 : 0;
    prev = now;
    uint64_t seen = __atomic_load_n(&max_stall_us, __ATOMIC_RELAXED);
    while (late > seen && !__atomic_compare_exchange_n(&max_stall_us, &seen, late, 1, __ATOMIC_RELAXED,
                                                       __ATOMIC_RELAXED)) {
    }
    __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void* reporter(void* arg) {
  sigset_t* set = arg;
  pthread_setname_np(pthread_self(), "reporter");
  for (;;) {
    int sig = 0;
    sigwait(set, &sig);
    if (sig == SIGTERM) _exit(0);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", report);
    FILE* f = fopen(tmp, "w");
    if (!f) continue;
    fprintf(f, "max_stall_us=%lu ticks=%lu\n", (unsigned long)__atomic_exchange_n(&max_stall_us, 0, __ATOMIC_RELAXED),
            (unsigned long)__atomic_exchange_n(&ticks, 0, __ATOMIC_RELAXED));
    fclose(f);
    rename(tmp, report);
  }
  return NULL;
}

static void* allocator(void* arg) {
  long n = (long)arg;
  char name[16];
  snprintf(name, sizeof name, "alloc-%ld", n);
  pthread_setname_np(pthread_self(), name);
  enum { kBlocks = 40000 };
  static __thread void* blocks[kBlocks];
  unsigned seed = (unsigned)n * 7919u + 1;
  for (int i = 0; i < kBlocks; ++i) {
    size_t size = 32 + rand_r(&seed) % 2017;
    blocks[i] = malloc(size);
    memset(blocks[i], (int)i, size);
  }
  for (int i = 0; i < kBlocks; i += 3) free(blocks[i]);
  pthread_mutex_lock(&mu);
  parked++;
  for (;;) pthread_cond_wait(&never, &mu);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  report = argv[1];
  long mib = argc > 2 ? atol(argv[2]) : 1024;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t t;
  pthread_create(&t, NULL, reporter, &set);
  pthread_create(&t, NULL, heartbeat, NULL);
  for (long i = 0; i < 4; ++i) pthread_create(&t, NULL, allocator, (void*)i);

  long chunk_bytes = mib / 4 * 1024 * 1024;
  for (long done = 0; done < chunk_bytes; done += 512 * 1024) {
    void* p = malloc(512 * 1024);
    memset(p, 1, 512 * 1024);
  }
  const size_t region = 256 * 1024, page = (size_t)sysconf(_SC_PAGESIZE);
  long regions = (mib * 1024 * 1024 - chunk_bytes - 4 * 40000 * 700) / (long)region;
  for (long i = 0; i < regions; ++i) {
    char* p = mmap(NULL, region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 2, region);
    mprotect(p + region - page, page, PROT_READ);
  }
  for (;;) {
    pthread_mutex_lock(&mu);
    int n = parked;
    pthread_mutex_unlock(&mu);
    if (n == 4) break;
    usleep(10 * 1000);
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
