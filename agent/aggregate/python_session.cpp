#include "aggregate/python_session.h"

namespace sonde::aggregate {

Result<PythonSession*> python_session(std::unique_ptr<PythonSession>& current, pid_t pid, const target::Maps& maps) {
  if (current && current->rt.pid == pid) {
    // The same load of the interpreter is still mapped where it was.
    for (const auto& m : maps.mappings)
      if (m.start == current->rt.module_start && m.path == current->rt.module) return current.get();
  }
  current.reset();
  auto rt = python::locate_python(pid, maps);
  if (!rt) return std::unexpected(rt.error());
  current = std::make_unique<PythonSession>(std::move(*rt));
  return current.get();
}

}  // namespace sonde::aggregate
