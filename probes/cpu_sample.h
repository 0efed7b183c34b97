/* The record the CPU sampler (cpu_sample.bpf.c) puts into its ring buffer, and
 * the constants both sides agree on. Shared by the BPF program (built against
 * vmlinux.h) and the agent (agent/capture/ebpf_sampler.cpp), so only fixed-size
 * __u types here. */
#ifndef SONDE_PROBES_CPU_SAMPLE_H
#define SONDE_PROBES_CPU_SAMPLE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The stack copy is made page by page from the page that holds sp (a page that
 * is not mapped ends the copy cleanly, where one large read would fail as a
 * whole): SONDE_STACK_PAGES pages cover the wanted bytes above sp plus the part
 * of sp's page below it. */
#define SONDE_PAGE_SIZE 4096
#define SONDE_STACK_DEFAULT_BYTES (16 * 1024)
#define SONDE_STACK_MAX_BYTES (32 * 1024)
#define SONDE_STACK_MAX_PAGES (SONDE_STACK_MAX_BYTES / SONDE_PAGE_SIZE + 1)

/* Kernel frames kept per sample (bpf_get_stack). */
#define SONDE_KSTACK_MAX 64

/* x86_64 user registers in DWARF numbering order (rax, rdx, rcx, rbx, rsi,
 * rdi, rbp, rsp, r8..r15, rip): what capture::Registers holds. */
#define SONDE_DWARF_REGS 17

enum sonde_sample_flags {
  SONDE_SAMPLE_IN_KERNEL = 1 << 0,     /* the tick interrupted kernel code */
};

/* Indexes of the per-CPU counters map. */
enum sonde_counter {
  SONDE_COUNT_SAMPLES = 0,   /* ticks that hit the node */
  SONDE_COUNT_DROPPED = 1,   /* ... that found the ring buffer full */
  SONDE_COUNT_STACK_SHORT = 2, /* ... whose stack copy ended early (unmapped page) */
  SONDE_COUNT_PROBE_NS = 3,  /* time the probe spent on those ticks (what the node paid) */
  SONDE_COUNT_MAX = 4,
};

struct sonde_cpu_sample {
  __u64 time_ns;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
  __u32 tgid;      /* as the agent sees it (its pid namespace) */
  __u32 tid;
  __u32 cpu;
  __u32 flags;     /* enum sonde_sample_flags */
  __u64 regs[SONDE_DWARF_REGS];
  __s32 kstack_bytes; /* bytes of kstack filled, or a negative errno */
  __u32 stack_len;    /* bytes of stack copied, from stack_base */
  __u64 stack_base;   /* user address of stack[0]: sp rounded down to its page */
  __u64 kstack[SONDE_KSTACK_MAX];
  /* The record is reserved with the configured page count, so only
   * stack_pages * SONDE_PAGE_SIZE bytes follow (SONDE_RECORD_BYTES). */
  __u8 stack[SONDE_STACK_MAX_PAGES * SONDE_PAGE_SIZE];
};

/* Bytes of a record with `pages` pages of stack room (what the probe reserves). */
#define SONDE_SAMPLE_HEADER_BYTES __builtin_offsetof(struct sonde_cpu_sample, stack)
#define SONDE_RECORD_BYTES(pages) (SONDE_SAMPLE_HEADER_BYTES + (pages) * SONDE_PAGE_SIZE)

#endif
