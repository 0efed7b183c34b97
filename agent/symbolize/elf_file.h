// One opened ELF file (a module of the node or a separate debug file): what
// the symbolizer needs to know about it before reading any symbol.
//
// The file stays open (fd + libelf handle, read through mmap) for as long as
// the object lives, because the symbol table and libdw read from it lazily.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

typedef struct Elf Elf;

namespace sonde::symbolize {

// Who a file on disk is: a file replaced on disk (new inode, or rewritten in
// place: new mtime/size) gets a different identity, so caches keyed by it
// never hand out the old file's names.
struct FileIdentity {
  uint64_t dev = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

// A PT_LOAD segment: ties file offsets (what /proc/PID/maps gives) to the
// link-time virtual addresses that symbols and DWARF use.
struct LoadSegment {
  uint64_t vaddr = 0, offset = 0, filesz = 0, memsz = 0;
  bool executable = false;
};

class ElfFile {
 public:
  // Opens `path` (as the agent sees it, e.g. /proc/PID/root/usr/lib/...).
  static Result<std::unique_ptr<ElfFile>> open(const std::string& path);
  // An ELF image copied out of the node's memory (the [vdso], which has no
  // file); `name` is only used in messages. fd() is -1 for such an image.
  static Result<std::unique_ptr<ElfFile>> from_memory(std::string image, const std::string& name);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  // Drops the libelf handle and opens a fresh one on the same fd. libelf
  // keeps decompressed sections (what libdw asked for) until elf_end: this
  // gives that memory back. Any Dwarf built on the old handle must be closed
  // first. False (and unusable) if the file cannot be read again.
  bool reload();

  const std::string& path() const { return path_; }
  const FileIdentity& identity() const { return identity_; }
  Elf* elf() const { return elf_; }
  int fd() const { return fd_; }

  // The GNU build-id as lowercase hex; "" when the file has none.
  const std::string& build_id() const { return build_id_; }
  // .gnu_debuglink: the debug file's name ("" if none) and its CRC32.
  const std::string& debuglink() const { return debuglink_; }
  uint32_t debuglink_crc() const { return debuglink_crc_; }

  const std::vector<LoadSegment>& loads() const { return loads_; }
  bool has_symtab() const { return has_symtab_; }
  bool has_dynsym() const { return has_dynsym_; }
  // The file holds DWARF (.debug_info, compressed or not).
  bool has_debug_info() const { return has_debug_info_; }

 private:
  ElfFile() = default;
  void read_headers();

  std::string path_;
  int fd_ = -1;
  std::string image_;  // owns the bytes of a from_memory() ELF
  Elf* elf_ = nullptr;
  FileIdentity identity_;
  std::string build_id_;
  std::string debuglink_;
  uint32_t debuglink_crc_ = 0;
  std::vector<LoadSegment> loads_;
  bool has_symtab_ = false, has_dynsym_ = false, has_debug_info_ = false;
};

// The link-time address of a byte at `file_offset`, through the PT_LOAD that
// holds it: vaddr = p_vaddr + (file_offset - p_offset). /proc/PID/maps gives
// file offsets, so this is right for PIE, non-PIE and shared libraries alike
// whatever the load address. False when no segment holds the offset.
bool vaddr_of_offset(const std::vector<LoadSegment>& loads, uint64_t file_offset, uint64_t* vaddr);

// The identity of the file at `path` (stat follows symlinks, so
// /proc/PID/map_files/... gives the file the node really maps).
Result<FileIdentity> identity_of(const std::string& path);

// Lowercase hex of raw bytes (build-ids are shown and keyed this way).
std::string to_hex(const void* data, size_t size);

}  // namespace sonde::symbolize
