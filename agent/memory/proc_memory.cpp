#include "memory/proc_memory.h"

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>

#include "target/procfs.h"

namespace sonde::memory {

namespace {

// "Pss_Anon:        1234 kB" -> ("Pss_Anon", 1234*1024). False for lines
// that are not "Key: number kB" (VmFlags, THPeligible, the maps line).
bool size_line(std::string_view line, std::string_view* key, uint64_t* bytes) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  // A maps line has no ':' before its first space... except in the dev
  // field, which comes after a space: a key never holds a space.
  if (line.substr(0, colon).find(' ') != std::string_view::npos) return false;
  auto rest = line.substr(colon + 1);
  size_t i = 0;
  while (i < rest.size() && rest[i] == ' ') ++i;
  if (i == rest.size() || rest[i] < '0' || rest[i] > '9') return false;
  uint64_t v = 0;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') v = v * 10 + static_cast<uint64_t>(rest[i++] - '0');
  if (rest.substr(i).find("kB") == std::string_view::npos) return false;
  *key = line.substr(0, colon);
  *bytes = v * 1024;
  return true;
}

void apply_rollup(SmapsRollup& r, std::string_view key, uint64_t v) {
  if (key == "Rss") r.rss = v;
  else if (key == "Pss") r.pss = v;
  else if (key == "Pss_Anon") r.pss_anon = v;
  else if (key == "Pss_File") r.pss_file = v;
  else if (key == "Pss_Shmem") r.pss_shmem = v;
  else if (key == "Shared_Clean") r.shared_clean = v;
  else if (key == "Shared_Dirty") r.shared_dirty = v;
  else if (key == "Private_Clean") r.private_clean = v;
  else if (key == "Private_Dirty") r.private_dirty = v;
  else if (key == "Referenced") r.referenced = v;
  else if (key == "Anonymous") r.anonymous = v;
  else if (key == "LazyFree") r.lazy_free = v;
  else if (key == "AnonHugePages") r.anon_huge = v;
  else if (key == "Swap") r.swap = v;
  else if (key == "SwapPss") r.swap_pss = v;
  else if (key == "Locked") r.locked = v;
}

void apply_entry(SmapsEntry& e, std::string_view key, uint64_t v) {
  if (key == "Size") e.size = v;
  else if (key == "Rss") e.rss = v;
  else if (key == "Pss") e.pss = v;
  else if (key == "Shared_Clean") e.shared_clean = v;
  else if (key == "Shared_Dirty") e.shared_dirty = v;
  else if (key == "Private_Clean") e.private_clean = v;
  else if (key == "Private_Dirty") e.private_dirty = v;
  else if (key == "Anonymous") e.anonymous = v;
  else if (key == "Swap") e.swap = v;
}

// A maps line starts with "start-end " in hex.
bool is_maps_line(std::string_view line) {
  auto dash = line.find('-');
  auto space = line.find(' ');
  if (dash == std::string_view::npos || space == std::string_view::npos || dash > space || dash == 0) return false;
  for (size_t i = 0; i < space; ++i) {
    char c = line[i];
    if (i != dash && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

SmapsRollup parse_smaps_rollup(const std::string& text) {
  SmapsRollup r;
  std::istringstream in(text);
  std::string line;
  std::string_view key;
  uint64_t v = 0;
  while (std::getline(in, line))
    if (size_line(line, &key, &v)) apply_rollup(r, key, v);
  return r;
}

std::vector<SmapsEntry> parse_smaps(const std::string& text) {
  std::vector<SmapsEntry> out;
  std::istringstream in(text);
  std::string line;
  std::string_view key;
  uint64_t v = 0;
  while (std::getline(in, line)) {
    if (is_maps_line(line)) {
      // The maps parser is the one the rest of sonde uses: same fields.
      auto one = target::parse_maps(line + "\n");
      if (one.mappings.empty()) continue;
      SmapsEntry e;
      e.map = one.mappings.front();
      out.push_back(std::move(e));
      continue;
    }
    if (!out.empty() && size_line(line, &key, &v)) apply_entry(out.back(), key, v);
  }
  return out;
}

SmapsRollup rollup_of(const std::vector<SmapsEntry>& entries) {
  SmapsRollup r;
  for (const auto& e : entries) {
    r.rss += e.rss;
    r.pss += e.pss;
    r.shared_clean += e.shared_clean;
    r.shared_dirty += e.shared_dirty;
    r.private_clean += e.private_clean;
    r.private_dirty += e.private_dirty;
    r.anonymous += e.anonymous;
    r.swap += e.swap;
  }
  return r;
}

Result<ProcMemory> read_proc_memory(pid_t pid) {
  ProcMemory pm;
  auto statm = target::read_proc_file(pid, "statm");
  if (!statm) return std::unexpected(statm.error());
  pm.pmem = target::parse_statm(*statm, target::page_size());
  auto smaps = target::read_proc_file(pid, "smaps");
  if (!smaps) return std::unexpected(smaps.error());
  pm.mappings = parse_smaps(*smaps);
  if (auto rollup = target::read_proc_file(pid, "smaps_rollup")) {
    pm.rollup = parse_smaps_rollup(*rollup);
    pm.rollup_from_kernel = true;
  } else {
    pm.rollup = rollup_of(pm.mappings);
  }
  return pm;
}

}  // namespace sonde::memory
