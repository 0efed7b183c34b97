// What an operator reads when attaching fails: the cause and the fix
// (DESIGN.md §1: "run as root or grant CAP_SYS_PTRACE").
#pragma once

#include <sys/types.h>

#include "common/result.h"

namespace sonde::capture {

// The Error for an errno from PTRACE_SEIZE of thread `tid`: permission (with
// the capability and, when it restricts us, the yama ptrace_scope setting),
// conflict when another tracer holds the thread, no_node when the thread is
// gone or exiting (ESRCH, or EPERM on a zombie), internal otherwise.
Error attach_error(pid_t tid, int err);

// /proc/sys/kernel/yama/ptrace_scope, or -1 when yama is not there.
int yama_ptrace_scope();

}  // namespace sonde::capture
