/* A node that reports its own speed, for the profiler's slowdown: one thread
 * runs a fixed unit of work in a loop; after "ready" and a 1 s settle it
 * counts the units done in a WINDOW-second window and prints
 * "units_per_s N". Built without frame pointers (bench/profile.sh), so the
 * stacks a profiler shows reach main only by DWARF unwinding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static uint64_t unit_of_work(uint64_t x) {
  for (int i = 0; i < 2000; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL, x ^= x >> 29;
  return x;
}

__attribute__((noinline)) static uint64_t run_until(double end, uint64_t* units) {
  uint64_t x = 1, n = 0;
  while (1) {
    for (int i = 0; i < 64; ++i) x = unit_of_work(x);
    n += 64;
    if (now_s() >= end) break;
  }
  *units = n;
  return x;
}

int main(int argc, char** argv) {
  double window = argc > 1 ? atof(argv[1]) : 5.0;
  printf("ready\n");
  fflush(stdout);
  uint64_t units;
  sink = run_until(now_s() + 1.0, &units); /* settle: the profiler attaches meanwhile */
  double t0 = now_s();
  sink = run_until(t0 + window, &units);
  printf("units_per_s %.0f\n", units / (now_s() - t0));
  return 0;
}
