#include "memory/remote_memory.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sonde::memory {

namespace {

Error read_error(pid_t pid, uint64_t addr, size_t len, int err) {
  char where[64];
  std::snprintf(where, sizeof where, "0x%llx+%zu", static_cast<unsigned long long>(addr), len);
  if (err == ESRCH) return Error{ErrorCode::no_node, "the node (pid " + std::to_string(pid) + ") exited"};
  if (err == EPERM || err == EACCES)
    return Error{ErrorCode::permission, "cannot read the memory of pid " + std::to_string(pid) + ": " +
                                            std::strerror(err) + "; run as root or grant CAP_SYS_PTRACE"};
  return Error{ErrorCode::io, std::string("cannot read the node's memory at ") + where + ": " +
                                  (err ? std::strerror(err) : "short read")};
}

}  // namespace

Result<void> RemoteMemory::read(uint64_t addr, void* into, size_t len) const {
  if (len == 0) return {};
  iovec local{into, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  ++calls_;
  ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (n < 0) return std::unexpected(read_error(pid_, addr, len, errno));
  if (static_cast<size_t>(n) != len) return std::unexpected(read_error(pid_, addr, len, 0));
  return {};
}

Result<uint64_t> RemoteMemory::read_u64(uint64_t addr) const {
  uint64_t v = 0;
  if (auto r = read(addr, &v, sizeof v); !r) return std::unexpected(r.error());
  return v;
}

Result<std::string> RemoteMemory::read_bytes(uint64_t addr, size_t len) const {
  std::string out(len, '\0');
  if (auto r = read(addr, out.data(), len); !r) return std::unexpected(r.error());
  return out;
}

Result<std::string> RemoteMemory::read_cstring(uint64_t addr, size_t max) const {
  auto bytes = read_bytes(addr, max);
  if (!bytes) return bytes;
  auto nul = bytes->find('\0');
  if (nul != std::string::npos) bytes->resize(nul);
  return bytes;
}

void RemoteMemory::read_many(std::vector<Piece>& pieces, std::vector<bool>* ok) const {
  ok->assign(pieces.size(), false);
  // The kernel takes at most IOV_MAX (1024) vectors per call; it stops at the
  // first remote piece it cannot read, so on a short count we go on after it.
  constexpr size_t kBatch = 1024;
  size_t at = 0;
  std::vector<iovec> local, remote;
  while (at < pieces.size()) {
    size_t n = std::min(kBatch, pieces.size() - at);
    local.resize(n);
    remote.resize(n);
    for (size_t i = 0; i < n; ++i) {
      local[i] = {pieces[at + i].into, pieces[at + i].len};
      remote[i] = {reinterpret_cast<void*>(pieces[at + i].addr), pieces[at + i].len};
    }
    ++calls_;
    ssize_t got = ::process_vm_readv(pid_, local.data(), n, remote.data(), n, 0);
    size_t done = 0;
    if (got > 0) {
      size_t left = static_cast<size_t>(got);
      while (done < n && left >= pieces[at + done].len) {
        left -= pieces[at + done].len;
        (*ok)[at + done] = true;
        ++done;
      }
    }
    if (got < 0 && errno == ESRCH) return;  // the node is gone: nothing more to read
    // Skip the piece that stopped the kernel (unreadable) and go on.
    at += done < n ? done + 1 : n;
  }
}

}  // namespace sonde::memory
