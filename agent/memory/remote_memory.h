// Reading the node's memory from outside: process_vm_readv only. It needs no
// ptrace stop and cannot write, so a walk built on it leaves the node exactly
// as it was (DESIGN.md §3) even when the agent dies half-way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::memory {

class RemoteMemory {
 public:
  explicit RemoteMemory(pid_t pid) : pid_(pid) {}

  // Exactly `len` bytes at `addr` into `into`, or an error (a short read is
  // an error: the structure we wanted is not all there).
  Result<void> read(uint64_t addr, void* into, size_t len) const;
  Result<uint64_t> read_u64(uint64_t addr) const;
  Result<std::string> read_bytes(uint64_t addr, size_t len) const;
  // A NUL-terminated string of at most `max` bytes.
  Result<std::string> read_cstring(uint64_t addr, size_t max) const;

  // Several (addr, len) pieces in one system call, for a walk that reads
  // many small headers; each piece that could not be read fully is marked
  // in `ok` (true/false) rather than failing the batch.
  struct Piece {
    uint64_t addr = 0;
    size_t len = 0;
    void* into = nullptr;
  };
  void read_many(std::vector<Piece>& pieces, std::vector<bool>* ok) const;

  pid_t pid() const { return pid_; }
  // Number of process_vm_readv calls made (for tests and the report).
  uint64_t calls() const { return calls_; }

 private:
  pid_t pid_;
  mutable uint64_t calls_ = 0;
};

}  // namespace sonde::memory
