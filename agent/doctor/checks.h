// The doctor's checks: each judges facts (facts.h) and says what to fix.
// Pure functions, so a test can make each of them fail with made-up facts.
// The table in doctor.cpp runs them in this order.
#pragma once

#include <string>
#include <vector>

#include "doctor/facts.h"
#include "doctor/finding.h"

namespace sonde::doctor {

// check_agent.cpp: the agent's own privileges.
Finding check_capabilities(const HostFacts& h);
Finding check_seccomp(const HostFacts& h);

// check_kernel.cpp: the kernel's knobs.
Finding check_yama(const HostFacts& h);
Finding check_perf_paranoid(const HostFacts& h);
Finding check_btf(const HostFacts& h);
Finding check_bpf(const HostFacts& h);

// check_node.cpp: the node and whether the agent may attach to it.
Finding check_node_exists(const NodeFacts& n);
Finding check_ptrace_permission(const HostFacts& h, const NodeFacts& n);
Finding check_tracer(const NodeFacts& n);
Finding check_pid_namespace(const NodeFacts& n);
Finding check_mount_namespace(const NodeFacts& n);

// check_debug_info.cpp: names for the node's executable, malloc figures from libc.
Finding check_exe_debug(const NodeFacts& n);
Finding check_libc_debug(const NodeFacts& n);

// check_plan.cpp: what the agent will use, given the above.
bool ebpf_usable(const HostFacts& h);
Finding check_sampler(const HostFacts& h);
std::vector<std::string> allocator_methods(const NodeFacts& n);
Finding check_allocator(const NodeFacts& n);

// The fix for a missing privilege, the same words everywhere.
inline const char* kGrantCaps =
    "run it as root, or grant CAP_SYS_PTRACE CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH (the sonde@.service unit "
    "does; by hand: `setcap cap_sys_ptrace,cap_bpf,cap_perfmon,cap_dac_read_search+ep /usr/bin/sonde`; "
    "a container: cap_add)";

}  // namespace sonde::doctor
