// Source locations from DWARF (libdw): the file:line of an address and the
// chain of functions inlined at it.
//
// For an address inside code that the compiler inlined, one machine frame
// stands for several source frames. lookup() returns them innermost first:
// the inlined functions (inlined = true), each with the file:line reached in
// it, then the real function (the DW_TAG_subprogram) with the file:line of
// the call site of the outermost inlined one (its DW_AT_call_file/line).
//
// The Dwarf handle and a sorted table of compile-unit ranges are kept for the
// life of the object so a warm lookup parses nothing again. libdw makes no
// promise about concurrent reads of one handle: callers serialize lookups.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <elfutils/libdw.h>

#include "common/result.h"

namespace sonde::symbolize {

class ElfFile;

struct SourceFrame {
  std::string function;  // demangled; "" when DWARF names none
  std::string file;      // as the compiler recorded it (often absolute); "" if unknown
  int line = 0;
  bool inlined = false;
};

class DwarfLines {
 public:
  // `file` must outlive the result (the module owns both).
  static Result<std::unique_ptr<DwarfLines>> open(const ElfFile& file);
  ~DwarfLines();
  DwarfLines(const DwarfLines&) = delete;
  DwarfLines& operator=(const DwarfLines&) = delete;

  // Empty when no compile unit covers `vaddr` (a link-time address).
  std::vector<SourceFrame> lookup(uint64_t vaddr);

  size_t compile_units() const { return cus_.size(); }

 private:
  DwarfLines() = default;
  void index_units();
  bool find_cu(uint64_t vaddr, Dwarf_Die* cu);

  struct CuRange {
    uint64_t start, end;
    Dwarf_Die die;
  };
  Dwarf* dwarf_ = nullptr;
  std::vector<CuRange> cus_;  // sorted by start
};

}  // namespace sonde::symbolize
