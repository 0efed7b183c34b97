// `sonde doctor --pid N`: everything an attach needs, each with its fix.
// Reads /proc and /sys, loads (and at once unloads) one trivial BPF program;
// never stops, signals or writes to the node.
#pragma once

#include <sys/types.h>

#include "doctor/facts.h"
#include "doctor/finding.h"

namespace sonde::doctor {

Report run_doctor(pid_t pid);
// The checks over given facts (what run_doctor does after gathering them).
Report judge(const HostFacts& host, const NodeFacts& node);

}  // namespace sonde::doctor
