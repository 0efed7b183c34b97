#include "aggregate/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace sonde::aggregate {

void ProfileTrie::add(const std::vector<uint32_t>& path_root_first, uint64_t weight) {
  uint32_t at = 0;
  nodes_[0].total += weight;
  for (uint32_t function : path_root_first) {
    at = child(at, function);
    nodes_[at].total += weight;
  }
  nodes_[at].self += weight;
}

void ProfileTrie::for_each_stack(const std::function<void(const std::vector<uint32_t>&, uint64_t)>& visit) const {
  std::vector<uint32_t> path;
  // (node, next child to visit); the path holds the functions of the nodes below the root.
  std::vector<std::pair<uint32_t, size_t>> todo{{0, 0}};
  while (!todo.empty()) {
    auto& [at, next] = todo.back();
    const auto& n = nodes_[at];
    if (next == 0 && at != 0 && n.self > 0) visit(path, n.self);
    if (next < n.children.size()) {
      uint32_t c = n.children[next++];
      path.push_back(nodes_[c].function);
      todo.emplace_back(c, 0);
    } else {
      todo.pop_back();
      if (!path.empty() && !todo.empty()) path.pop_back();
    }
  }
}

uint32_t ProfileTrie::child(uint32_t parent, uint32_t function) {
  uint64_t key = uint64_t(parent) << 32 | function;
  auto [it, added] = index_.try_emplace(key, uint32_t(nodes_.size()));
  if (added) {
    ProfileNode n;
    n.function = function;
    n.parent = parent;
    nodes_.push_back(std::move(n));
    nodes_[parent].children.push_back(it->second);
  }
  return it->second;
}

std::string ProfileThread::label() const {
  return name.empty() ? std::to_string(tid) : fmt::format("{} ({})", name, tid);
}

std::string Profile::label(uint32_t function) const {
  const auto& f = functions[function];
  if (f.named || f.module.empty()) return f.name;
  auto slash = f.module.rfind('/');
  return f.name + " in " + (slash == std::string::npos ? f.module : f.module.substr(slash + 1));
}

ProfileBuilder::ProfileBuilder(ProfileInfo info) { profile_.info = std::move(info); }

uint32_t ProfileBuilder::function_of(const Frame& f) {
  // The lookup key is built in a reused buffer: no allocation per frame once warm.
  key_.assign(f.module).push_back('\0');
  if (f.python) fmt::format_to(std::back_inserter(key_), "{}\x01", f.def_line);  // python keys never meet native ones
  const size_t name_at = key_.size();
  if (!f.function.empty()) key_ += f.function;
  else fmt::format_to(std::back_inserter(key_), "0x{:x}", f.address);
  auto it = function_ids_.find(key_);
  if (it == function_ids_.end()) {
    it = function_ids_.emplace(key_, uint32_t(profile_.functions.size())).first;
    ProfileFunction pf;
    pf.module = f.module;
    pf.name = key_.substr(name_at);
    pf.address = f.address;
    pf.named = !f.function.empty();
    pf.python = f.python;
    if (f.python) {
      pf.file = f.file;
      pf.line = f.def_line;
    }
    profile_.functions.push_back(std::move(pf));
    profile_.stats.emplace_back();
    seen_in_sample_.push_back(0);
  }
  auto& pf = profile_.functions[it->second];
  if (pf.python) return it->second;
  if (pf.file.empty() && !f.file.empty()) {
    pf.file = f.file;
    pf.line = f.line;
  } else if (f.line > 0 && f.file == pf.file && (pf.line == 0 || f.line < pf.line)) {
    pf.line = f.line;
  }
  return it->second;
}

size_t ProfileBuilder::edge(uint32_t caller, uint32_t callee) {
  auto [it, added] = edge_ids_.try_emplace(uint64_t(caller) << 32 | callee, profile_.edges.size());
  if (added) {
    profile_.edges.push_back(CallEdge{caller, callee, 0, 0, 0});
    edge_seen_.push_back(0);
  }
  return it->second;
}

void ProfileBuilder::add(pid_t tid, const std::string& thread_name, const std::vector<Frame>& frames,
                         uint64_t weight) {
  static const Frame kUnknown{"", "[unknown]", 0, "", 0, false, 0};
  const std::vector<Frame> unknown_only{kUnknown};
  const auto& stack = frames.empty() ? unknown_only : frames;

  path_.clear();
  for (auto f = stack.rbegin(); f != stack.rend(); ++f) path_.push_back(function_of(*f));

  // Once per sample: a serial number marks what this sample already counted.
  ++sample_serial_;
  for (uint32_t fn : path_) {
    if (seen_in_sample_[fn] == sample_serial_) continue;
    seen_in_sample_[fn] = sample_serial_;
    profile_.stats[fn].total += weight;
  }
  auto& leaf = profile_.stats[path_.back()];
  leaf.self += weight;
  leaf.self_by_line[stack.front().line] += weight;

  // Edges, in stack order; a recursive pair repeated in one sample counts once.
  for (size_t i = 1; i < path_.size(); ++i) {
    size_t at = edge(path_[i - 1], path_[i]);
    auto& e = profile_.edges[at];
    if (e.samples == 0 && edge_seen_[at] == 0) e.call_line = stack[stack.size() - i].line;  // the caller's frame
    if (edge_seen_[at] == sample_serial_) continue;
    edge_seen_[at] = sample_serial_;
    e.samples += weight;
  }
  if (path_.size() > 1) profile_.edges[edge(path_[path_.size() - 2], path_.back())].self += weight;

  auto [ti, added] = thread_ids_.try_emplace(tid, profile_.threads.size());
  if (added) {
    profile_.threads.emplace_back();
    profile_.threads.back().tid = tid;
  }
  auto& thread = profile_.threads[ti->second];
  if (!thread_name.empty()) thread.name = thread_name;  // threads rename themselves: keep the latest
  thread.trie.add(path_, weight);
  profile_.merged.add(path_, weight);
  profile_.info.samples += weight;
}

Profile ProfileBuilder::finish() {
  std::sort(profile_.edges.begin(), profile_.edges.end(), [](const CallEdge& a, const CallEdge& b) {
    return std::tie(a.caller, a.callee) < std::tie(b.caller, b.callee);
  });
  std::sort(profile_.threads.begin(), profile_.threads.end(),
            [](const ProfileThread& a, const ProfileThread& b) { return a.tid < b.tid; });
  Profile out = std::move(profile_);
  profile_ = Profile{};
  profile_.info = out.info;
  profile_.info.samples = 0;
  function_ids_.clear();
  edge_ids_.clear();
  thread_ids_.clear();
  seen_in_sample_.clear();
  edge_seen_.clear();
  return out;
}

}  // namespace sonde::aggregate
