/* CPU sampler: runs on every tick of the software cpu-clock perf event (one
 * event per CPU, opened by agent/capture/ebpf_sampler.cpp) and, when the tick
 * interrupted a thread of the node, puts into the ring buffer what offline
 * unwinding needs: the thread's user registers, a copy of the top of its user
 * stack, and its kernel stack. Nothing here walks the user stack: the agent
 * unwinds the copy with DWARF CFI, so binaries without frame pointers work.
 *
 * Cost lands on the node (this runs in the tick's interrupt on the node's CPU),
 * so it is kept to one ring-buffer reservation and page-sized copies: the
 * record is written in place (no per-CPU scratch and second copy). */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

#include "cpu_sample.h"

/* bpf_probe_read_user and bpf_get_stack are GPL-only helpers. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the agent before load; the verifier sees them as constants (frozen
 * .rodata), which is what lets the record size below be fixed at load time. */
const volatile __u32 node_tgid = 0;
const volatile __u32 stack_pages = SONDE_STACK_DEFAULT_BYTES / SONDE_PAGE_SIZE + 1;
/* The agent's pid namespace when it is not the initial one (a container
 * sharing the node's pid namespace): node_tgid is a pid in that namespace. */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;
/* Wake the agent only once this much is pending: it drains on a short timer
 * anyway, and a wakeup per sample would cost it more than the samples do. */
const volatile __u64 wakeup_bytes = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20); /* resized by the agent before load */
} sonde_samples SEC(".maps");

/* Per thread: the first stack address whose page could not be read (see
 * the stack copy below). LRU, so threads that come and go cannot fill it. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, __u64);
} sonde_stack_ends SEC(".maps");

/* CPython nodes: which thread state runs on which thread (agent-filled) and
 * where its fields are (enabled = 0: not a Python node, nothing is read). */
const volatile struct sonde_py_offsets py = {};
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, __u64);
} sonde_py_tstates SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SONDE_COUNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} sonde_counters SEC(".maps");

static __always_inline void add(__u32 which, __u64 n) {
  __u64* c = bpf_map_lookup_elem(&sonde_counters, &which);
  if (c) *c += n; /* per-CPU slot, and ticks on one CPU do not nest */
}
#define count(which) add((which), 1)

/* The current thread's ids as the agent numbers them; false when it is not
 * in the agent's pid namespace (then it cannot be the node either). */
static __always_inline bool current_ids(__u32* tgid, __u32* tid) {
  if (pidns_ino) {
    struct bpf_pidns_info ns = {};
    if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof ns)) return false;
    *tgid = ns.tgid;
    *tid = ns.pid;
    return true;
  }
  __u64 id = bpf_get_current_pid_tgid();
  *tgid = id >> 32;
  *tid = (__u32)id;
  return true;
}

/* pt_regs -> DWARF register order. A macro rather than a function: `r` is a
 * context pointer in one use and a BTF pointer in the other, and the verifier
 * wants each access written against its own kind of pointer. */
#define SONDE_FILL_REGS(out, r)                                                  \
  do {                                                                           \
    (out)[0] = (r)->ax;  (out)[1] = (r)->dx;  (out)[2] = (r)->cx;                \
    (out)[3] = (r)->bx;  (out)[4] = (r)->si;  (out)[5] = (r)->di;                \
    (out)[6] = (r)->bp;  (out)[7] = (r)->sp;  (out)[8] = (r)->r8;                \
    (out)[9] = (r)->r9;  (out)[10] = (r)->r10; (out)[11] = (r)->r11;             \
    (out)[12] = (r)->r12; (out)[13] = (r)->r13; (out)[14] = (r)->r14;            \
    (out)[15] = (r)->r15; (out)[16] = (r)->ip;                                   \
  } while (0)

/* The thread's Python frame chain, innermost first, into s->py. Offsets come
 * from frozen .rodata, so the verifier sees them as constants and every read
 * below is bounds-checked at load time. */
static __always_inline void read_python(struct sonde_cpu_sample* s, __u32 tid) {
  __u8 buf[SONDE_PY_FRAME_BYTES];
  __u32 n = 0;
  s->py_count = 0;
  if (!py.enabled) return;
  __u64* ts = bpf_map_lookup_elem(&sonde_py_tstates, &tid);
  if (!ts) return;
  s->flags |= SONDE_SAMPLE_PY_THREAD;
  __u64 frame = 0;
  if (py.tstate_current_frame >= 0) {
    if (bpf_probe_read_user(&frame, sizeof frame, (const void*)(*ts + py.tstate_current_frame))) goto cut;
  } else {
    __u64 cframe = 0;
    if (bpf_probe_read_user(&cframe, sizeof cframe, (const void*)(*ts + py.tstate_cframe))) goto cut;
    if (!cframe) return;
    if (bpf_probe_read_user(&frame, sizeof frame, (const void*)(cframe + py.cframe_current_frame))) goto cut;
  }
  for (__u32 i = 0; i < SONDE_PY_MAX_FRAMES; i++) {
    if (!frame) break;
    __u32 size = py.frame_bytes;
    if (size > SONDE_PY_FRAME_BYTES || size < 8) goto cut;
    if (bpf_probe_read_user(buf, size, (const void*)frame)) goto cut;
    if (py.frame_code < 0 || py.frame_code > SONDE_PY_FRAME_BYTES - 8 || py.frame_instr < 0 ||
        py.frame_instr > SONDE_PY_FRAME_BYTES - 8 || py.frame_previous < 0 ||
        py.frame_previous > SONDE_PY_FRAME_BYTES - 8 || py.frame_owner < 0 || py.frame_owner > SONDE_PY_FRAME_BYTES - 1)
      goto cut;
    __u64 code = *(__u64*)(buf + py.frame_code);
    __u64 instr = *(__u64*)(buf + py.frame_instr);
    __u64 previous = *(__u64*)(buf + py.frame_previous);
    __s8 owner = *(__s8*)(buf + py.frame_owner);
    if (py.owner_cstack >= 0 && owner == py.owner_cstack) {
      code = 1;
    } else if (py.frame_is_entry >= 0 && py.frame_is_entry <= SONDE_PY_FRAME_BYTES - 1) {
      if (*(__u8*)(buf + py.frame_is_entry)) code |= 1;
    }
    if (n < SONDE_PY_MAX_FRAMES) {
      s->py[n].code = code;
      s->py[n].instr = instr;
      n++;
    }
    if (previous == frame) goto cut;
    frame = previous;
  }
  s->py_count = n;
  if (frame) s->flags |= SONDE_SAMPLE_PY_TRUNCATED;
  return;
cut:
  s->py_count = n;
  s->flags |= SONDE_SAMPLE_PY_TRUNCATED;
}

SEC("perf_event")
int sonde_cpu_clock(struct bpf_perf_event_data* ctx) {
  __u32 tgid, tid;
  if (!current_ids(&tgid, &tid) || tgid != node_tgid) return 0;
  __u64 start_ns = bpf_ktime_get_ns();
  count(SONDE_COUNT_SAMPLES);

  struct sonde_cpu_sample* s =
      bpf_ringbuf_reserve(&sonde_samples, SONDE_RECORD_BYTES(stack_pages), 0);
  if (!s) {
    count(SONDE_COUNT_DROPPED);
    return 0;
  }
  s->time_ns = start_ns;
  s->tgid = tgid;
  s->tid = tid;
  s->cpu = bpf_get_smp_processor_id();

  /* The tick interrupted user code: its registers are the user registers.
   * It interrupted the kernel (a syscall, a fault): the user registers are
   * the ones saved at kernel entry, and the kernel stack is worth keeping. */
  struct pt_regs* tick = (struct pt_regs*)&ctx->regs;
  /* Kernel text lives in the upper half of the address space (the context
   * allows 8-byte reads only, and cs is a 16-bit field on recent kernels). */
  bool in_kernel = (__s64)tick->ip < 0;
  if (in_kernel) {
    struct pt_regs* user = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
    SONDE_FILL_REGS(s->regs, user);
    s->flags = SONDE_SAMPLE_IN_KERNEL;
    s->kstack_bytes = bpf_get_stack(ctx, s->kstack, sizeof s->kstack, 0);
  } else {
    SONDE_FILL_REGS(s->regs, tick);
    s->flags = 0;
    s->kstack_bytes = 0;
  }

  /* Copy whole pages from sp's page up. A page that is not there (the top
   * of the main stack; a guard page above a thread's stack) ends the copy
   * with what came before it, where one big read would fail as a whole.
   * Such a failed read costs the node a page-fault round trip (about 2 us,
   * measured), so where a thread's copy ended is remembered and later
   * copies of that thread stop there. (bpf_find_vma would give the
   * mapping's end directly, but costs more than the fault: about 8 us.) */
  __u64 base = s->regs[7] & ~(__u64)(SONDE_PAGE_SIZE - 1);
  s->stack_base = base;
  __u32 pages = stack_pages;
  __u64* limit = bpf_map_lookup_elem(&sonde_stack_ends, &tid);
  if (limit && *limit > base && (*limit - base) / SONDE_PAGE_SIZE < pages)
    pages = (*limit - base) / SONDE_PAGE_SIZE;
  __u32 copied = 0;
  for (__u32 i = 0; i < SONDE_STACK_MAX_PAGES; i++) {
    if (i >= pages) break;
    if (bpf_probe_read_user(&s->stack[i * SONDE_PAGE_SIZE], SONDE_PAGE_SIZE,
                            (const void*)(base + (__u64)i * SONDE_PAGE_SIZE))) {
      count(SONDE_COUNT_STACK_SHORT);
      __u64 end = base + (__u64)i * SONDE_PAGE_SIZE;
      bpf_map_update_elem(&sonde_stack_ends, &tid, &end, BPF_ANY);
      break;
    }
    copied += SONDE_PAGE_SIZE;
  }
  s->stack_len = copied;
  read_python(s, tid);

  __u64 pending = bpf_ringbuf_query(&sonde_samples, BPF_RB_AVAIL_DATA);
  bpf_ringbuf_submit(s, pending >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
  add(SONDE_COUNT_PROBE_NS, bpf_ktime_get_ns() - start_ns);
  return 0;
}
