// Writing a file that keeps its predecessors, the way the seed rotates
// stacktrace.html: the current one becomes NAME.1, NAME.1 becomes NAME.2, ...
// and NAME.<keep> is the oldest kept. The new file appears whole (written
// beside and renamed), so a reader never sees half of it.
#pragma once

#include <string>

#include "common/result.h"

namespace sonde::log {

Result<void> write_rotated(const std::string& path, const std::string& content, int keep);

}  // namespace sonde::log
