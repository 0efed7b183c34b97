// The node's side: does it exist, may the agent attach (without stopping it),
// which namespaces it is in, and the debug info of its executable and libc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "doctor/facts.h"
#include "memory/glibc_locate.h"
#include "symbolize/debug_file.h"
#include "symbolize/elf_file.h"
#include "target/maps.h"
#include "target/procfs.h"

namespace sonde::doctor {

namespace {

std::string proc(pid_t pid, const std::string& name) { return "/proc/" + std::to_string(pid) + "/" + name; }

// The namespace a /proc/X/ns/NAME link names ("pid:[4026531836]"), by inode.
bool ns_inode(const std::string& link, ino_t* out, int* err) {
  struct stat st;
  if (::stat(link.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  *out = st.st_ino;
  return true;
}

// Reads the module through the node's root (or /proc/N/exe for a replaced
// executable) and looks for its separate debug file the way the symbolizer
// does (by build-id, then debuglink; node's root first, then the agent's).
ModuleDebug module_debug(pid_t pid, const std::string& node_view_path, const std::string& open_path) {
  ModuleDebug d;
  d.path = node_view_path;
  auto file = symbolize::ElfFile::open(open_path);
  if (!file) {
    d.error = file.error().message;
    return d;
  }
  d.build_id = (*file)->build_id();
  d.has_symtab = (*file)->has_symtab();
  d.has_dwarf = (*file)->has_debug_info();
  symbolize::DebugFileQuery q;
  q.pid = pid;
  q.module_path = node_view_path;
  q.module = file->get();
  if (auto debug = symbolize::find_debug_file(q, symbolize::default_debug_dirs())) {
    d.debug_file = (*debug)->path();
    d.debug_file_dwarf = (*debug)->has_debug_info();
  }
  return d;
}

std::string strip_deleted(std::string path, bool* deleted) {
  const std::string tail = " (deleted)";
  *deleted = path.size() > tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
  if (*deleted) path.resize(path.size() - tail.size());
  return path;
}

}  // namespace

NodeFacts read_node_facts(pid_t pid) {
  NodeFacts n;
  n.pid = pid;
  auto status = target::read_proc_file(pid, "status");
  if (!status) return n;
  n.exists = true;
  n.uid = static_cast<uid_t>(status_int_field(*status, "Uid", 0));
  n.tracer = static_cast<pid_t>(status_int_field(*status, "TracerPid", 0));
  // NSpid lists the pid in each namespace from the agent's down to the node's own.
  auto at = status->find("\nNSpid:");
  if (at != std::string::npos) {
    std::istringstream line(status->substr(at + 7, status->find('\n', at + 1) - at - 7));
    for (long v; line >> v;) n.ns_pid = static_cast<pid_t>(v);
  }

  ino_t mine, theirs;
  if (ns_inode("/proc/self/ns/pid", &mine, &n.ns_errno) && ns_inode(proc(pid, "ns/pid"), &theirs, &n.ns_errno))
    n.same_pid_ns = mine == theirs;
  if (ns_inode("/proc/self/ns/mnt", &mine, &n.ns_errno) && ns_inode(proc(pid, "ns/mnt"), &theirs, &n.ns_errno))
    n.same_mnt_ns = mine == theirs;

  // The kernel checks opening /proc/N/mem with PTRACE_MODE_ATTACH, like
  // PTRACE_SEIZE: the answer without stopping a thread.
  int fd = ::open(proc(pid, "mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) n.mem_errno = errno;
  else ::close(fd);

  int rfd = ::open(proc(pid, "root/").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  n.root_visible = rfd >= 0;
  if (rfd >= 0) ::close(rfd);

  char buf[4096];
  ssize_t len = ::readlink(proc(pid, "exe").c_str(), buf, sizeof buf - 1);
  if (len > 0) {
    bool deleted = false;
    std::string exe = strip_deleted(std::string(buf, static_cast<size_t>(len)), &deleted);
    // A replaced executable is still readable through the exe link itself.
    n.exe = module_debug(pid, exe, deleted ? proc(pid, "exe") : target::node_path(pid, exe));
  } else {
    n.exe.error = "cannot read " + proc(pid, "exe") + ": " + std::strerror(errno);
  }

  if (auto maps = target::read_maps(pid)) {
    n.maps_readable = true;
    n.allocator = memory::guess_allocator(*maps).name;
    if (const auto* libc = memory::find_libc(*maps); libc) {
      bool deleted = false;
      std::string path = strip_deleted(libc->path, &deleted);
      n.libc = module_debug(pid, path, target::node_path(pid, path));
    }
  } else {
    n.libc.error = maps.error().message;
  }
  return n;
}

}  // namespace sonde::doctor
