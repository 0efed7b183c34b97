// format=text: shaped like `eu-stack -p PID`, one line per frame, so the
// output greps and diffs. Every thread is listed on its own (no grouping):
// `grep -B20 my_function` must find each thread that is in it.
#include <fmt/format.h>

#include <algorithm>

#include "render/stack_renderer.h"

namespace sonde::render {
namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// (sleeping, futex wait, stopped 31 us): the facts an operator reads first.
std::string thread_header(const aggregate::ThreadStack& t) {
  std::string facts = !t.state_name.empty() ? t.state_name
                      : t.state != '?'      ? std::string(1, t.state)
                                            : "state unknown";
  if (!t.wait.empty()) facts += ", " + t.wait;
  if (t.in_kernel) facts += ", in a system call";
  if (t.error.empty()) facts += fmt::format(", stopped {} us", t.stopped_us);
  if (t.holds_gil) facts += ", holds the GIL";
  std::string python_name = t.python_name.empty() ? "" : fmt::format(" python \"{}\"", t.python_name);
  return fmt::format("TID {} \"{}\"{} ({}):\n", t.tid, t.name, python_name, facts);
}

std::string frame_line(size_t index, const aggregate::Frame& f) {
  // A Python frame: py-spy's shape, "qualname (file:line)".
  if (f.python)
    return fmt::format("#{:<2} {:<18}  {} ({}:{})\n", index, "[python]", f.function, f.file, f.line);
  std::string line = fmt::format("#{:<2} 0x{:016x}  ", index, f.address);
  if (f.function.empty()) {
    line += "??";
  } else {
    line += f.function;
    // An inlined frame's offset belongs to the symbol around it, not to this
    // function: printing "inlined_fn+offset" would point at the wrong code.
    if (!f.inlined) line += fmt::format("+{}", f.offset);
  }
  if (f.inlined) line += " [inlined]";
  if (!f.module.empty()) line += " (" + base_name(f.module) + ")";
  if (f.line > 0 && !f.file.empty()) line += fmt::format(" at {}:{}", f.file, f.line);
  return line + '\n';
}

class TextStacks final : public StackRenderer {
 public:
  std::string content_type() const override { return "text/plain; charset=utf-8"; }

  std::string render(const aggregate::StackDump& dump) const override {
    std::string out = fmt::format("PID {} - process\n", dump.pid);
    if (!dump.python_version.empty()) out += "Python " + dump.python_version + "\n";
    if (!dump.python_error.empty()) out += "Python frames not shown: " + dump.python_error + "\n";
    std::vector<const aggregate::ThreadStack*> threads;
    for (const auto& t : dump.threads) threads.push_back(&t);
    std::stable_sort(threads.begin(), threads.end(), [](auto* a, auto* b) { return a->tid < b->tid; });
    for (const auto* t : threads) {
      out += thread_header(*t);
      if (!t->error.empty()) out += "    error: " + t->error + '\n';
      // The kernel part is the innermost, so it comes before frame #0.
      for (const auto& k : t->kernel_stack) out += "    [kernel] " + k + '\n';
      for (size_t i = 0; i < t->frames.size(); ++i) out += frame_line(i, t->frames[i]);
      if (!t->complete && t->error.empty()) out += "    (unwind stopped here; outer frames unknown)\n";
      out += '\n';
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<StackRenderer> make_text_stacks() { return std::make_unique<TextStacks>(); }

}  // namespace sonde::render
