// One ELF file of the node (executable or shared library), mapped read-only
// from disk, with what unwinding needs from it: its loadable segments (to
// place it in the node's address space) and its .eh_frame_hdr search table.
// A Module is immutable after open(): any number of unwinds may read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "target/maps.h"

namespace sonde::unwind {

class Module {
 public:
  struct LoadSegment {
    uint64_t vaddr = 0, offset = 0, filesz = 0;
  };
  // PT_GNU_EH_FRAME, as link-time addresses: the header, its binary-search
  // table (pairs of 32-bit offsets from hdr_vaddr, sorted by pc) and the
  // table's entry count. Kept only when the table exists and has the
  // datarel|sdata4 encoding every linker writes.
  struct EhFrameHdr {
    uint64_t hdr_vaddr = 0;
    uint64_t table_vaddr = 0;
    uint64_t fde_count = 0;
  };

  // Maps the file at `path` (as the agent opens it: /proc/PID/root/...). An
  // ELF that is not x86_64 little-endian is refused.
  static Result<std::shared_ptr<const Module>> open(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  uint64_t file_size() const { return size_; }
  uint64_t inode() const { return inode_; }
  // Copies n bytes at file offset `off`; false when they are not all in the file.
  bool read(uint64_t off, void* out, size_t n) const;
  const std::vector<LoadSegment>& loads() const { return loads_; }
  const std::optional<EhFrameHdr>& eh_frame_hdr() const { return eh_; }

  // Load bias (node address minus link-time address) for the mapping `m` of
  // this file, from the PT_LOAD that holds m's file offset.
  std::optional<uint64_t> bias_for(const target::Mapping& m) const;

 private:
  Module() = default;
  bool parse();
  void parse_eh_frame_hdr(uint64_t off, uint64_t vaddr, uint64_t size);

  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t inode_ = 0;
  std::vector<LoadSegment> loads_;
  std::optional<EhFrameHdr> eh_;
};

}  // namespace sonde::unwind
