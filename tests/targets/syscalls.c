/* target_syscalls: a thread "sys-busy" that lives mostly in the kernel, reading
 * 64 KiB from /dev/zero in a loop (the kernel clears the buffer: real work there,
 * little in user space). For tests of kernel frames in stacks and profiles. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "target_util.h"

static int g_zero = -1;
static char g_buf[64 * 1024];
static int g_started;

TARGET_KEEP_FRAME long sys_read_loop(void) {
  long total = 0;
  for (;;) {
    ssize_t n = read(g_zero, g_buf, sizeof g_buf);
    if (n > 0) total += n;
  }
  return total;
}

static void* busy_thread(void* arg) {
  (void)arg;
  target_name_self("sys-busy");
  target_started(&g_started);
  sys_read_loop();
  return NULL;
}

int main(void) {
  target_exit_on_sigterm();
  g_zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  if (g_zero < 0) {
    perror("/dev/zero");
    return 1;
  }
  pthread_t t;
  pthread_create(&t, NULL, busy_thread, NULL);
  target_wait_started(&g_started, 1);
  target_ready();
  pthread_join(t, NULL);
  return 0;
}
