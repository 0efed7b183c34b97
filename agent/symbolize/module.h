// A loaded module: everything needed to turn a link-time address of one ELF
// file into frames, built once and shared by every process that maps the
// same build (the Symbolizer keys modules by build-id).
//
// Symbols come from the module's .symtab, else from its separate debug
// file's .symtab (build-id verified), else from its .dynsym. DWARF comes from
// whichever of the two files has it and is opened on first use, so a caller
// that never asks for lines of a module never pays for its DWARF.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "symbolize/dwarf_lines.h"
#include "symbolize/elf_file.h"
#include "symbolize/symbol_frame.h"
#include "symbolize/symbol_table.h"

namespace sonde::symbolize {

struct ModuleOptions {
  bool use_debug_files = true;            // look for separate debug files at all
  std::vector<std::string> debug_dirs;    // e.g. {"/usr/lib/debug"}
  // false: names only, no DWARF (no file:line, no inlined frames): a cold
  // one-shot then skips inflating compressed debug sections (libc: ~60 ms).
  bool source_lines = true;
};

// What the symbolizer knows about a module (for `sonde doctor` and tests).
struct ModuleInfo {
  std::string path;         // as the node sees it (of the first process that loaded it)
  std::string build_id;     // hex; "" when the file has none
  std::string debug_file;   // the verified separate debug file, as the agent opened it; "" if none
  std::string symbols;      // "symtab", "debug-symtab", "dynsym" or "none"
  bool has_dwarf = false;   // file:line and inlined frames are available
  size_t symbol_count = 0;
};

class Module {
 public:
  // `file` is the opened module; `pid` and `node_path` say where to look for
  // its debug file (under /proc/PID/root first).
  static std::shared_ptr<Module> load(std::unique_ptr<ElfFile> file, pid_t pid,
                                      const std::string& node_path, const ModuleOptions& options);

  const FileIdentity& identity() const { return identity_; }
  const std::string& build_id() const { return info_.build_id; }
  const ModuleInfo& info() const { return info_; }

  // Link-time address of a byte at `file_offset` (see ElfFile::vaddr_of_offset).
  bool vaddr_of_offset(uint64_t file_offset, uint64_t* vaddr) const;

  // Frames for the link-time address `vaddr`, without `module`/`address`
  // (the caller knows those). A return address is looked up at vaddr - 1,
  // the call instruction, so the line is the call's and a call that ends a
  // function is not blamed on the next one; `offset` stays relative to
  // vaddr itself. Thread-safe; results are cached per address, and
  // `from_cache` (optional) tells whether this answer came from there.
  std::vector<SymbolFrame> symbolize(uint64_t vaddr, bool return_address,
                                     bool* from_cache = nullptr);

  // Closes the DWARF handle (decompressed debug sections are the bulk of a
  // module's memory: ~14 MiB for libc with libc6-dbg). Cached answers and the
  // symbol table stay; the next new address opens DWARF again.
  void release_dwarf();

 private:
  Module() = default;
  std::vector<SymbolFrame> compute(uint64_t vaddr, bool return_address);

  FileIdentity identity_;
  std::vector<LoadSegment> loads_;
  SymbolTable symbols_;
  ModuleInfo info_;

  mutable std::mutex mu_;                      // guards everything below
  std::unique_ptr<ElfFile> dwarf_file_;        // the file holding DWARF, if any
  std::unique_ptr<DwarfLines> dwarf_;          // opened on first use
  bool dwarf_tried_ = false;
  std::unordered_map<uint64_t, std::vector<SymbolFrame>> results_;  // key: vaddr*2 + return_address
};

}  // namespace sonde::symbolize
