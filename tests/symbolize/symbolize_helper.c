// A small program the symbolizer tests run, copy, strip and replace on disk.
// VARIANT selects one of two builds with different function names (and so a
// different build-id). It prints the addresses of its functions and waits.
#include <stdio.h>
#include <unistd.h>

#if VARIANT == 2
#define PARKED helper_variant_b
// Shifts the code so the two builds also differ in layout.
__attribute__((noinline)) int helper_padding(int x) { return x * 3 + 1; }
#else
#define PARKED helper_variant_a
#endif

__attribute__((noinline)) void PARKED(void) {
  for (;;) pause();
}

__attribute__((noinline)) int helper_common(int x) { return x + 1; }

int main(void) {
  printf("ready %p %p\n", (void*)&PARKED, (void*)&helper_common);
  fflush(stdout);
  PARKED();
  return helper_common(0);
}
