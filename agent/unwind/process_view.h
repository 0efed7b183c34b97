// The node's address space as the unwinder sees it: its maps, and for each
// file mapping the Module behind it and its load bias. Built once per batch
// of snapshots of one process (one capture, or one eBPF flush) and shared by
// their unwinds; modules come from the ModuleCache, resolved on first use.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "target/maps.h"
#include "unwind/module_cache.h"

namespace sonde::unwind {

class ProcessView {
 public:
  struct Place {
    const target::Mapping* mapping = nullptr;
    const Module* module = nullptr;  // null: anonymous, or the file cannot be read
    uint64_t bias = 0;               // node address = link-time address + bias
  };

  // `cache` must outlive the view. `maps` is copied.
  ProcessView(pid_t pid, target::Maps maps, ModuleCache& cache);
  ProcessView(const ProcessView&) = delete;  // places_ point into maps_
  ProcessView& operator=(const ProcessView&) = delete;

  // Unique per view: an Unwinder drops what libunwind cached for another
  // view (same addresses may mean other code in another process).
  uint64_t serial() const { return serial_; }

  pid_t pid() const { return pid_; }
  const target::Maps& maps() const { return maps_; }

  // The mapping holding addr (with its module when it is a readable file);
  // null when no mapping holds it.
  const Place* place(uint64_t addr);

  // Copies n bytes at node address addr from the file behind its mapping
  // (what the node's memory held when it was loaded: code, read-only data,
  // .eh_frame). False for anonymous memory or past the file's end.
  bool read_file_backed(uint64_t addr, void* out, size_t n);

 private:
  pid_t pid_;
  uint64_t serial_;
  target::Maps maps_;
  ModuleCache& cache_;
  std::vector<Place> places_;          // one per mapping, filled lazily
  std::vector<bool> resolved_;
  std::vector<std::shared_ptr<const Module>> held_;  // keeps modules alive for the view
  const Place* last_ = nullptr;        // most accesses hit the same mapping in a row
};

}  // namespace sonde::unwind
