#include "symbolize/module.h"

#include "symbolize/debug_file.h"
#include "symbolize/demangle.h"

namespace sonde::symbolize {

namespace {

// Bounds the per-module result cache; past this it starts over (a node's
// stacks revisit a few thousand addresses, far fewer than this).
constexpr size_t kMaxCachedResults = 1 << 16;

}  // namespace

std::shared_ptr<Module> Module::load(std::unique_ptr<ElfFile> file, pid_t pid,
                                     const std::string& node_path, const ModuleOptions& options) {
  std::shared_ptr<Module> m(new Module());
  m->identity_ = file->identity();
  m->loads_ = file->loads();
  m->info_.path = node_path;
  m->info_.build_id = file->build_id();

  std::unique_ptr<ElfFile> debug;
  if (options.use_debug_files && (!file->has_symtab() || !file->has_debug_info())) {
    auto found = find_debug_file({pid, node_path, file.get()}, options.debug_dirs);
    if (found) {
      debug = std::move(*found);
      m->info_.debug_file = debug->path();
    }
  }

  if (file->has_symtab()) {
    m->symbols_ = SymbolTable::from_elf(*file);
    m->info_.symbols = "symtab";
  } else if (debug && debug->has_symtab()) {
    m->symbols_ = SymbolTable::from_elf(*debug);
    m->info_.symbols = "debug-symtab";
  } else {
    m->symbols_ = SymbolTable::from_elf(*file);
    m->info_.symbols = m->symbols_.source() == SymbolSource::dynsym ? "dynsym" : "none";
  }
  m->info_.symbol_count = m->symbols_.size();

  // Keep open only the file that DWARF will be read from; the symbol table
  // holds its own copy of the names.
  if (!options.source_lines) {
    // names only
  } else if (file->has_debug_info()) {
    m->dwarf_file_ = std::move(file);
  } else if (debug && debug->has_debug_info()) {
    m->dwarf_file_ = std::move(debug);
  }
  m->info_.has_dwarf = m->dwarf_file_ != nullptr;
  return m;
}

bool Module::vaddr_of_offset(uint64_t file_offset, uint64_t* vaddr) const {
  return symbolize::vaddr_of_offset(loads_, file_offset, vaddr);
}

std::vector<SymbolFrame> Module::symbolize(uint64_t vaddr, bool return_address, bool* from_cache) {
  std::lock_guard lock(mu_);
  uint64_t key = vaddr * 2 + (return_address ? 1 : 0);
  if (auto it = results_.find(key); it != results_.end()) {
    if (from_cache) *from_cache = true;
    return it->second;
  }
  if (from_cache) *from_cache = false;
  auto frames = compute(vaddr, return_address);
  if (results_.size() >= kMaxCachedResults) results_.clear();
  results_.emplace(key, frames);
  return frames;
}

void Module::release_dwarf() {
  std::lock_guard lock(mu_);
  if (!dwarf_) return;
  dwarf_.reset();
  // The decompressed sections belong to the libelf handle, not to libdw.
  if (dwarf_file_ && !dwarf_file_->reload()) dwarf_file_.reset();
  dwarf_tried_ = false;
}

// Called with mu_ held (libdw lookups are not safe to run concurrently).
std::vector<SymbolFrame> Module::compute(uint64_t vaddr, bool return_address) {
  const uint64_t at = return_address && vaddr > 0 ? vaddr - 1 : vaddr;
  SymbolHit hit;
  const bool has_symbol = symbols_.lookup(at, &hit);
  const uint64_t offset = has_symbol ? vaddr - hit.start : 0;

  if (!dwarf_tried_ && dwarf_file_) {
    dwarf_tried_ = true;
    auto opened = DwarfLines::open(*dwarf_file_);
    if (opened) dwarf_ = std::move(*opened);
  }
  std::vector<SourceFrame> source;
  if (dwarf_) source = dwarf_->lookup(at);

  std::vector<SymbolFrame> frames;
  if (source.empty()) {
    SymbolFrame f;
    if (has_symbol) f.function = demangle(hit.name);
    f.offset = offset;
    frames.push_back(std::move(f));
    return frames;
  }
  for (auto& s : source) {
    SymbolFrame f;
    f.function = std::move(s.function);
    f.file = std::move(s.file);
    f.line = s.line;
    f.inlined = s.inlined;
    f.offset = offset;
    frames.push_back(std::move(f));
  }
  // The outermost frame is the code's own function: name it by the ELF
  // symbol that `offset` refers to (this also names split-off parts such as
  // "foo.cold" as the symbol table does). Should DWARF have stopped at an
  // inlined frame, the symbol becomes a frame of its own.
  if (has_symbol) {
    if (frames.back().inlined) {
      SymbolFrame outer;
      outer.offset = offset;
      frames.push_back(std::move(outer));
    }
    frames.back().function = demangle(hit.name);
  }
  return frames;
}

}  // namespace sonde::symbolize
