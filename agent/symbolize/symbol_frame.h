// One source-level frame of a symbolized address (DESIGN.md §1 "frames").
#pragma once

#include <cstdint>
#include <string>

namespace sonde::symbolize {

// One address can give several: the functions inlined at it first (inlined =
// true, innermost first), then the function that really holds the code.
// Unknown facts stay empty/zero; nothing is guessed.
struct SymbolFrame {
  std::string module;    // path as the node sees it, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6;
                         // "[vdso]", "[heap]", "" (anonymous) for non-file mappings
  std::string function;  // demangled; "" when unknown
  uint64_t offset = 0;   // address - start of the function's ELF symbol (for inlined frames:
                         // of the symbol that contains them); 0 and meaningless when no symbol
  std::string file;      // as recorded in DWARF (usually absolute); "" without debug info
  int line = 0;          // 0 when unknown
  bool inlined = false;
  uint64_t address = 0;  // the pc as given (a return address stays a return address)
  // A CPython frame (agent/python/): function = the code's qualified name,
  // file = module = co_filename, line = the current line, def_line =
  // co_firstlineno (cProfile's key), address = the code object's address.
  bool python = false;
  int def_line = 0;
};

}  // namespace sonde::symbolize
