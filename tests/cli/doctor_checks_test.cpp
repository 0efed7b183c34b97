// Each doctor check, made to fail with made-up facts: the level it gives and
// the fix it prints. The facts of a machine where everything works are the
// starting point; each case breaks one of them.
#include <doctest/doctest.h>

#include <cerrno>

#include "doctor/checks.h"
#include "doctor/doctor.h"

using namespace sonde::doctor;

namespace {

HostFacts good_host() {
  HostFacts h;
  h.uid = 0;
  h.cap_eff = (1ull << kCapSysPtrace) | (1ull << kCapBpf) | (1ull << kCapPerfmon) | (1ull << kCapDacReadSearch);
  h.yama_scope = 1;
  h.perf_paranoid = 2;
  h.btf = true;
  return h;
}

NodeFacts good_node() {
  NodeFacts n;
  n.pid = 42;
  n.exists = true;
  n.uid = 1000;
  n.maps_readable = true;
  n.exe = {"/srv/node", "abcdef01", "", true, true, "", false};
  n.libc = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "93ac61ec", "", false, false,
            "/usr/lib/debug/.build-id/93/ac61ec.debug", true};
  return n;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("all good: every check ok, attach works, ebpf and the glibc walk") {
  Report r = judge(good_host(), good_node());
  for (const auto& f : r.findings) {
    INFO(f.check << ": " << f.finding);
    CHECK(f.level == Level::ok);
  }
  CHECK(r.attach_will_work());
  CHECK(r.sampler == "ebpf");
  CHECK(r.allocator_methods == std::vector<std::string>{"glibc walk", "procfs"});
  std::string text = render_text(r);
  CHECK(has(text, "ok    capabilities: effective CAP_SYS_PTRACE CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH"));
  CHECK(has(render_json(r), "\"attach\":true"));
}

TEST_CASE("capabilities: a user without them gets warn and the setcap fix") {
  HostFacts h = good_host();
  h.uid = 1000;
  h.cap_eff = 0;
  Finding f = check_capabilities(h);
  CHECK(f.level == Level::warn);
  CHECK(has(f.finding, "lacks CAP_SYS_PTRACE"));
  CHECK(has(f.fix, "setcap cap_sys_ptrace,cap_bpf,cap_perfmon,cap_dac_read_search+ep"));
  // CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON.
  h.cap_eff = (1ull << kCapSysAdmin);
  CHECK(!has(check_capabilities(h).finding, "CAP_BPF ("));
}

TEST_CASE("seccomp: strict fails, a filter warns with the syscalls to allow") {
  HostFacts h = good_host();
  h.seccomp = 1;
  CHECK(check_seccomp(h).level == Level::fail);
  h.seccomp = 2;
  Finding f = check_seccomp(h);
  CHECK(f.level == Level::warn);
  CHECK(has(f.fix, "SystemCallFilter=@system-service ptrace bpf perf_event_open process_vm_readv"));
  CHECK(!judge(h, good_node()).findings.empty());
}

TEST_CASE("yama: scope 2 without CAP_SYS_PTRACE fails, 3 fails for everyone") {
  HostFacts h = good_host();
  h.yama_scope = 2;
  CHECK(check_yama(h).level == Level::ok);
  h.cap_eff &= ~(1ull << kCapSysPtrace);
  Finding f = check_yama(h);
  CHECK(f.level == Level::fail);
  CHECK(has(f.fix, "CAP_SYS_PTRACE"));
  CHECK(has(f.fix, "kernel.yama.ptrace_scope=0"));
  h = good_host();
  h.yama_scope = 3;
  f = check_yama(h);
  CHECK(f.level == Level::fail);
  CHECK(has(f.fix, "reboot"));
  CHECK_FALSE(judge(h, good_node()).attach_will_work());
}

TEST_CASE("perf_event_paranoid: matters only without CAP_PERFMON") {
  HostFacts h = good_host();
  h.perf_paranoid = 3;
  CHECK(check_perf_paranoid(h).level == Level::ok);
  h.cap_eff &= ~(1ull << kCapPerfmon);
  Finding f = check_perf_paranoid(h);
  CHECK(f.level == Level::warn);
  CHECK(has(f.fix, "CAP_PERFMON"));
  h.perf_paranoid = -1;
  CHECK(check_perf_paranoid(h).level == Level::ok);
}

TEST_CASE("no BTF or bpf() refused: warn, ptrace fallback sampler, attach still works") {
  HostFacts h = good_host();
  h.btf = false;
  Finding f = check_btf(h);
  CHECK(f.level == Level::warn);
  CHECK(has(f.fix, "CONFIG_DEBUG_INFO_BTF"));
  Report r = judge(h, good_node());
  CHECK(r.sampler == "ptrace");
  CHECK(r.attach_will_work());

  h = good_host();
  h.bpf_load_errno = EPERM;
  f = check_bpf(h);
  CHECK(f.level == Level::warn);
  CHECK(has(f.finding, "Operation not permitted"));
  CHECK(has(f.fix, "CAP_BPF and CAP_PERFMON"));
  CHECK(check_sampler(h).level == Level::warn);
  CHECK(has(check_sampler(h).finding, "ptrace fallback"));
}

TEST_CASE("node: a missing pid fails with the pid-namespace hint") {
  NodeFacts n = good_node();
  n.exists = false;
  Finding f = check_node_exists(n);
  CHECK(f.level == Level::fail);
  CHECK(has(f.fix, "shareProcessNamespace"));
  CHECK_FALSE(judge(good_host(), n).attach_will_work());
}

TEST_CASE("ptrace permission: each reason names its fix") {
  HostFacts h = good_host();
  NodeFacts n = good_node();
  n.mem_errno = EACCES;
  h.cap_eff = 0;
  h.uid = 65534;
  Finding f = check_ptrace_permission(h, n);
  CHECK(f.level == Level::fail);
  CHECK(has(f.finding, "the node runs as uid 1000, the agent as uid 65534 without CAP_SYS_PTRACE"));
  CHECK(has(f.fix, "grant CAP_SYS_PTRACE"));

  h.uid = 1000;  // same user, but Yama
  f = check_ptrace_permission(h, n);
  CHECK(has(f.finding, "yama ptrace_scope 1"));
  CHECK(has(f.fix, "kernel.yama.ptrace_scope=0"));

  h = good_host();  // root and still refused: an LSM
  f = check_ptrace_permission(h, n);
  CHECK(has(f.fix, "apparmor"));
  CHECK_FALSE(judge(h, n).attach_will_work());
}

TEST_CASE("a debugger holding the node warns (409), attach otherwise fine") {
  NodeFacts n = good_node();
  n.tracer = 777;
  Finding f = check_tracer(n);
  CHECK(f.level == Level::warn);
  CHECK(has(f.finding, "pid 777"));
  CHECK(has(f.fix, "detach"));
}

TEST_CASE("namespaces: different ones are reported, unreadable /proc/N/root warns") {
  NodeFacts n = good_node();
  n.same_mnt_ns = false;
  n.same_pid_ns = false;
  n.ns_pid = 1;
  CHECK(has(check_mount_namespace(n).finding, "different mount namespace"));
  CHECK(has(check_mount_namespace(n).finding, "/proc/42/root"));
  CHECK(has(check_pid_namespace(n).finding, "different pid namespace"));
  n.root_visible = false;
  CHECK(check_mount_namespace(n).level == Level::warn);
}

TEST_CASE("debug info: a stripped executable and a libc without libc6-dbg warn with the package") {
  NodeFacts n = good_node();
  n.exe.has_symtab = false;
  n.exe.has_dwarf = false;
  Finding f = check_exe_debug(n);
  CHECK(f.level == Level::warn);
  CHECK(has(f.fix, "/usr/lib/debug/.build-id/ab/cdef01.debug"));

  n.libc.debug_file.clear();
  f = check_libc_debug(n);
  CHECK(f.level == Level::warn);
  CHECK(has(f.fix, "install libc6-dbg"));
  CHECK(has(f.fix, "/usr/lib/debug/.build-id/93/ac61ec.debug"));
  CHECK(allocator_methods(n) == std::vector<std::string>{"procfs"});
  CHECK(check_allocator(n).level == Level::warn);
  CHECK(judge(good_host(), n).attach_will_work());
}

TEST_CASE("allocator: jemalloc needs --allow-inject") {
  NodeFacts n = good_node();
  n.allocator = "jemalloc";
  Finding f = check_allocator(n);
  CHECK(f.level == Level::warn);
  CHECK(has(f.fix, "--allow-inject"));
  CHECK(allocator_methods(n) == std::vector<std::string>{"procfs"});
}

TEST_CASE("status fields parse as the kernel writes them") {
  std::string status = "Name:\tx\nSeccomp:\t2\nCapEff:\t000001ffffffffff\nUid:\t1000\t1000\t1000\t1000\n";
  CHECK(status_hex_field(status, "CapEff") == 0x1ffffffffffull);
  CHECK(status_int_field(status, "Seccomp", -1) == 2);
  CHECK(status_int_field(status, "Uid", -1) == 1000);
  CHECK(status_int_field(status, "NoSuch", -1) == -1);
  CHECK(status_hex_field("CapEff:\t0000000000080000\n", "CapEff") == (1ull << kCapSysPtrace));
}
