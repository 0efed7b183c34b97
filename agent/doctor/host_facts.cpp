// The agent's side: its capabilities and seccomp mode, the kernel's knobs,
// and whether the kernel lets it load a BPF program of the sampler's type.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "doctor/facts.h"
#include "target/procfs.h"

namespace sonde::doctor {

namespace {

int read_int(const char* path, int missing) {
  auto text = target::read_text_file(path);
  if (!text || text->empty()) return missing;
  return std::atoi(text->c_str());
}

// `r0 = 0; exit` as a BPF_PROG_TYPE_PERF_EVENT program: the sampler's own
// program type, so the kernel applies the same rule (CAP_BPF + CAP_PERFMON,
// or CAP_SYS_ADMIN). A socket filter would load unprivileged and prove
// nothing. The program is unloaded at once (closing its only fd).
int try_load_perf_event_program() {
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
  insns[0].dst_reg = BPF_REG_0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  int fd = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "sonde_doctor", "GPL", insns, 2, nullptr);
  if (fd < 0) return fd == -1 ? errno : -fd;  // libbpf 1.x returns -errno; older ones -1 + errno
  ::close(fd);
  return 0;
}

}  // namespace

uint64_t status_hex_field(const std::string& status, const char* name) {
  std::string key = std::string("\n") + name + ":";
  auto at = ("\n" + status).find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + key.size() - 1, nullptr, 16);
}

long status_int_field(const std::string& status, const char* name, long missing) {
  std::string key = std::string("\n") + name + ":";
  auto at = ("\n" + status).find(key);
  if (at == std::string::npos) return missing;
  return std::strtol(status.c_str() + at + key.size() - 1, nullptr, 10);
}

HostFacts read_host_facts() {
  HostFacts h;
  h.uid = ::getuid();
  if (auto status = target::read_text_file("/proc/self/status")) {
    h.cap_eff = status_hex_field(*status, "CapEff");
    h.seccomp = static_cast<int>(status_int_field(*status, "Seccomp", 0));
  }
  h.yama_scope = read_int("/proc/sys/kernel/yama/ptrace_scope", -1);
  h.perf_paranoid = read_int("/proc/sys/kernel/perf_event_paranoid", 2);
  h.unprivileged_bpf = read_int("/proc/sys/kernel/unprivileged_bpf_disabled", -1);
  h.btf = ::access("/sys/kernel/btf/vmlinux", R_OK) == 0;
  h.bpf_load_errno = try_load_perf_event_program();
  return h;
}

}  // namespace sonde::doctor
