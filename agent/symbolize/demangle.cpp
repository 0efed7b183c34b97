#include "symbolize/demangle.h"

#include <cxxabi.h>

#include <cstdlib>

namespace sonde::symbolize {

std::string demangle(std::string_view name) {
  std::string mangled(name);
  // Only Itanium-ABI names: __cxa_demangle would also "demangle" a plain C
  // name such as "i" or "f" into a type name.
  if (mangled.size() < 3 || mangled[0] != '_' || mangled[1] != 'Z') return mangled;
  int status = 0;
  char* out = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) return mangled;
  std::string result(out);
  std::free(out);
  return result;
}

}  // namespace sonde::symbolize
