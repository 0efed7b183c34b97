#include "python/py_thread_names.h"

#include <spdlog/spdlog.h>

#include <set>

#include "python/py_dict.h"
#include "python/py_string.h"

namespace sonde::python {

namespace {

// threading keeps one Thread per live thread: more means we read garbage.
constexpr size_t kMaxThreads = 4096;
constexpr size_t kMaxHints = 1024;

}  // namespace

Result<std::unordered_map<uint64_t, std::string>> read_thread_names(const memory::RemoteMemory& mem,
                                                                    const PyRuntime& rt, uint64_t interp,
                                                                    KeyHints* hints) {
  std::unordered_map<uint64_t, std::string> names;
  if (!rt.objects) return fail(ErrorCode::internal, "no object layout for CPython " + rt.version);
  const PyObjectLayout& ol = *rt.objects;
  ObjectReader objects(mem, rt, ol, hints);
  auto modules = mem.read_u64(interp + uint64_t(ol.interp_modules));
  if (!modules) return std::unexpected(modules.error());
  if (*modules == 0) return names;  // interpreter starting or finalizing
  auto threading = objects.get(*modules, "threading");
  if (!threading) return fail(ErrorCode::io, "sys.modules unreadable: " + threading.error().message);
  if (*threading == 0) return names;  // never imported: no Python thread names
  auto ns = objects.module_dict(*threading);
  if (!ns) return std::unexpected(ns.error());
  auto active = objects.get(*ns, "_active");
  if (!active) return std::unexpected(active.error());
  if (*active == 0) return names;
  auto threads = objects.items(*active);
  if (!threads) return std::unexpected(threads.error());
  if (threads->size() > kMaxThreads) return fail(ErrorCode::io, "threading._active is implausibly large");
  for (const auto& t : *threads) {
    // The key is the ident, an int; an int's hash is its value (below
    // 2**61 - 1, which a pthread_t address is).
    auto name = objects.attribute(t.value, "_name");
    if (!name || *name == 0) continue;
    if (auto s = read_str(mem, rt, *name)) names[t.hash] = *s;
  }
  return names;
}

std::unordered_map<pid_t, std::string> ThreadNameReader::read(const memory::RemoteMemory& mem, const PyRuntime& rt,
                                                              const std::vector<PyThread>& threads) {
  // Instances with a dict of their own add one hint each: forget them now and then.
  if (hints_.size() > kMaxHints) hints_.clear();
  std::unordered_map<pid_t, std::string> out;
  std::set<uint64_t> interps;
  for (const auto& t : threads) interps.insert(t.interp);
  for (uint64_t interp : interps) {
    auto names = read_thread_names(mem, rt, interp, &hints_);
    if (!names) {
      spdlog::debug("python thread names of interpreter {:#x}: {}", interp, names.error().message);
      continue;
    }
    for (const auto& t : threads)
      if (t.interp == interp && t.native_tid > 0)
        if (auto it = names->find(t.thread_id); it != names->end()) out[t.native_tid] = it->second;
  }
  return out;
}

}  // namespace sonde::python
