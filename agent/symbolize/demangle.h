// Readable function names: C++ symbols (_Z...) through the C++ ABI's
// demangler; anything else (C, Rust v0 left as is) comes back unchanged.
#pragma once

#include <string>
#include <string_view>

namespace sonde::symbolize {

std::string demangle(std::string_view name);

}  // namespace sonde::symbolize
