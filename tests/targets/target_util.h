/* Shared bits of the test targets: naming threads, the "ready" handshake, and
 * ending on SIGTERM with status 0. C, so the C and C++ targets both use it. */
#pragma once

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GCC: noipa = noinline + noclone + no inter-procedural assumptions, so the symbol
 * is exactly the function in the source (no chain_inner.constprop.0, no callers
 * relying on "never returns"). Clang has no noipa; noinline is its closest. */
#if defined(__clang__)
#define TARGET_KEEP_FRAME __attribute__((noinline))
#else
#define TARGET_KEEP_FRAME __attribute__((noipa))
#endif

/* Names the calling thread (shown in /proc/PID/task/TID/comm, max 15 chars). */
void target_name_self(const char* name);
/* The calling thread's id. */
pid_t target_tid(void);
/* SIGTERM and SIGINT end the process with _exit(0), from whichever thread gets them. */
void target_exit_on_sigterm(void);
/* Waits (at most 5 s) until every thread in `tids` is asleep in the kernel
 * (state S), i.e. parked in its blocking call, so a stack taken right after
 * "ready" shows the parked frames. */
void target_wait_parked(const pid_t* tids, int count);
/* Running threads (spinners) call target_started(&counter) before their loop;
 * main calls target_wait_started(&counter, n) (at most 5 s) before "ready". */
void target_started(int* counter);
void target_wait_started(const int* counter, int expected);
/* Prints "ready\n" to stdout and flushes it. */
void target_ready(void);

#ifdef __cplusplus
}
#endif
