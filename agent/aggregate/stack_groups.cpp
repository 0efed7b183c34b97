#include <algorithm>
#include <map>

#include "aggregate/stack_dump.h"

namespace sonde::aggregate {

std::vector<StackGroup> group_identical(const StackDump& dump) {
  // Key: the function/module sequence; offsets and addresses differ between
  // threads parked in the same place only by ASLR-free noise, so leave them out.
  std::map<std::string, size_t> index;
  std::vector<StackGroup> groups;
  for (const auto& t : dump.threads) {
    std::string key = t.error.empty() ? "" : "error:" + t.error;
    for (const auto& f : t.frames) key += f.module + '\x1f' + f.function + '\x1f' + std::to_string(f.line) + '\x1e';
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) groups.push_back(StackGroup{{}, &t});
    groups[it->second].threads.push_back(&t);
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const StackGroup& a, const StackGroup& b) { return a.threads.size() > b.threads.size(); });
  return groups;
}

}  // namespace sonde::aggregate
