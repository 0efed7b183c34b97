// One line of `sonde doctor`: a check, what it found, and the fix. A FAIL
// means an attach will not work (not even a stack dump); a warn means a
// feature is degraded (eBPF sampling, names, malloc figures) but stacks work.
#pragma once

#include <string>
#include <vector>

namespace sonde::doctor {

enum class Level { ok, warn, fail };

struct Finding {
  Level level = Level::ok;
  std::string check;    // "capabilities", "yama ptrace_scope", ...
  std::string finding;  // what is the case, in one line
  std::string fix;      // what to do; "" when there is nothing to do
};

struct Report {
  int pid = 0;
  std::vector<Finding> findings;
  std::string sampler;                         // "ebpf" or "ptrace"
  std::vector<std::string> allocator_methods;  // "glibc walk", "procfs", ...

  // No FAIL: attaching works, stacks at least.
  bool attach_will_work() const;
};

const char* level_name(Level level);  // "ok", "warn", "FAIL"

// `ok|warn|FAIL  <check>: <finding> — fix: <what to do>`, one line each,
// then a summary line.
std::string render_text(const Report& report);
// The same facts for machines: {"pid", "attach", "sampler",
// "allocator_methods", "checks": [{"status", "check", "finding", "fix"}]}.
std::string render_json(const Report& report);

}  // namespace sonde::doctor
