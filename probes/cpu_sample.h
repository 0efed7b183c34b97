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
  SONDE_SAMPLE_PY_THREAD = 1 << 1,     /* a CPython thread state runs on this thread */
  SONDE_SAMPLE_PY_TRUNCATED = 1 << 2,  /* its frame chain was cut (a bad read, or the bound) */
};

/* CPython nodes (agent/python/): the probe reads the sampled thread's frame
 * chain at the tick, so the Python frames are the ones the native stack was
 * running, not the ones a later read from user space would find. The agent
 * fills sonde_py_tstates (tid -> PyThreadState address) and the offsets. */
#define SONDE_PY_MAX_FRAMES 96
#define SONDE_PY_FRAME_BYTES 128 /* at most this much of one _PyInterpreterFrame is read */

struct sonde_py_offsets {
  __s32 enabled;
  __s32 tstate_cframe, cframe_current_frame; /* 3.11, 3.12 */
  __s32 tstate_current_frame;                /* 3.13 */
  __s32 frame_previous, frame_code, frame_instr, frame_owner;
  __s32 frame_is_entry;                      /* 3.11, else -1 */
  __s32 owner_cstack;                        /* 3.12+, else -1 */
  __s32 frame_bytes;                         /* bytes to read per frame, <= SONDE_PY_FRAME_BYTES */
};

/* One Python frame: the code object, with bit 0 set when this frame is the
 * last one of a _PyEval_EvalFrameDefault call (3.11's is_entry; 3.12+'s
 * C-stack shim frame, whose code is then just 1), and its instruction. */
struct sonde_py_frame {
  __u64 code;
  __u64 instr;
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
  __u32 py_count;     /* frames in py[], innermost first */
  __u32 py_pad;
  struct sonde_py_frame py[SONDE_PY_MAX_FRAMES];
  /* The record is reserved with the configured page count, so only
   * stack_pages * SONDE_PAGE_SIZE bytes follow (SONDE_RECORD_BYTES). */
  __u8 stack[SONDE_STACK_MAX_PAGES * SONDE_PAGE_SIZE];
};

/* Bytes of a record with `pages` pages of stack room (what the probe reserves). */
#define SONDE_SAMPLE_HEADER_BYTES __builtin_offsetof(struct sonde_cpu_sample, stack)
#define SONDE_RECORD_BYTES(pages) (SONDE_SAMPLE_HEADER_BYTES + (pages) * SONDE_PAGE_SIZE)

#endif
