/* target_alloc REPORT_FILE [THREADS]: a node with a known malloc pattern for
 * the memory tests. Main and THREADS workers (default 4, each in its own
 * arena) allocate small blocks of many sizes (tcache, fastbins, small and
 * large bins once freed) and large ones (>= 128 KiB: mmapped chunks), free
 * part of them, then park without allocating again. On SIGUSR2 the main
 * thread writes its own mallinfo2() fields to REPORT_FILE, without allocating
 * (open/write of a stack buffer), so the heap a reader sees before and after
 * the report is the same. SIGTERM ends it with status 0. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kSmall = 3000, kLarge = 6, kFast = 64 };

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_done;

/* The same pattern in every thread, shifted by `seed` so arenas differ. */
static void allocate_pattern(int seed) {
  static __thread void* small[kSmall];
  static __thread void* large[kLarge];
  static __thread void* fast[3][kFast];
  /* Many blocks of three fastbin sizes, all freed below: tcache keeps 7 of
   * each size, the rest land in fastbins. */
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < kFast; ++i) fast[k][i] = malloc((size_t)(24 + 32 * k + seed));
  for (int i = 0; i < kSmall; ++i) {
    size_t size = 16 + (size_t)((i * 37 + seed * 11) % 2000);
    small[i] = malloc(size);
    memset(small[i], 0x5a, size);
  }
  for (int i = 0; i < kLarge; ++i) {
    size_t size = (size_t)(128 + 64 * i + 16 * seed) * 1024;
    large[i] = malloc(size);
    memset(large[i], 0xa5, size);
  }
  /* Free every third small block (beyond tcache's 7 per size they go to
   * fastbins and bins) and every other large one (munmapped). */
  for (int i = 0; i < kSmall; i += 3) free(small[i]);
  for (int i = 0; i < kLarge; i += 2) free(large[i]);
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < kFast; ++i) free(fast[k][i]);
}

static void* worker(void* arg) {
  allocate_pattern((int)(intptr_t)arg);
  pthread_mutex_lock(&g_mu);
  ++g_done;
  pthread_cond_broadcast(&g_cv);
  /* Park: never allocate again, never exit (an exiting thread would hand its
   * arena back and its tcache to the bins). */
  for (;;) pthread_cond_wait(&g_cv, &g_mu);
  return NULL;
}

static void report(const char* path) {
  struct mallinfo2 m = mallinfo2();
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "arena %zu\nordblks %zu\nsmblks %zu\nhblks %zu\nhblkhd %zu\nfsmblks %zu\nuordblks %zu\n"
                   "fordblks %zu\nkeepcost %zu\nend\n",
                   m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.fsmblks, m.uordblks, m.fordblks, m.keepcost);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write(fd, buf, (size_t)n) != n) perror("target_alloc: write");
  close(fd);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: target_alloc REPORT_FILE [THREADS]\n");
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 4;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);  /* inherited by the workers */

  allocate_pattern(0);
  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, (void*)(intptr_t)(i + 1)) != 0) return 1;
  }
  pthread_mutex_lock(&g_mu);
  while (g_done < threads) pthread_cond_wait(&g_cv, &g_mu);
  pthread_mutex_unlock(&g_mu);
  printf("ready %d threads\n", threads);
  fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR2)
      report(argv[1]);
    else
      _exit(0);
  }
}
