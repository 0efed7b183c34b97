// A CPU profile: what the profile renderers (pstats, calltree, collapsed,
// speedscope, pprof, flamegraph, json) read. Built by ProfileBuilder from
// samples, each a thread plus a symbolized stack (innermost first, inlined
// frames included), whatever sampled them (eBPF or ptrace).
//
// Two views of the same samples, both filled at add() time:
//  - stack tries (root = outermost frame), one per thread and one merged, with
//    self and total counts per node: the shape of flame graphs and folded stacks;
//  - per-function and caller->callee figures: what pstats and callgrind need.
//    A function is counted at most once per sample (a recursive function's
//    total never exceeds the sample count), and so is each call edge.
//
// A function's identity is (module, name) (a Python function's is (file,
// first line, qualified name), and its line is that first line); a frame without a name is the
// function "0x<address>" of its module, so unknown code is never merged into
// one anonymous bucket. A function's file is the first non-empty file seen for
// it; its line is the smallest line seen in that file: samples never reveal
// where a function is defined, and the smallest line of its body is both the
// nearest guess and independent of sample order (0 without debug info).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "aggregate/stack_dump.h"

namespace sonde::aggregate {

// What is known about the run, for every format's header.
struct ProfileInfo {
  pid_t pid = 0;
  std::string exe;
  double start_time = 0;      // epoch seconds
  double duration_s = 0;
  int hz = 0;                 // requested sampling frequency
  std::string sampler;        // "ebpf" or "ptrace"
  uint64_t samples = 0;       // set by finish(): the weights added
  uint64_t dropped = 0;       // samples the sampler lost (ring buffer full, ...)
  bool partial = false;       // the node exited before the end
  double probe_cpu_s = -1;    // CPU time the eBPF probe ran on the node's ticks, in the node's
                              // context: what sampling cost the node (-1: not known, ptrace)
  std::string threads = "all";  // the threads filter: "all" or a tid
  // What the profile is of, when more than the node (a proxied API call:
  // "call", "status", "duration_ms"): shown by the formats that have a place
  // for it (calltree desc: lines, a pstats entry without cost, json "notes").
  std::vector<std::pair<std::string, std::string>> notes;
};

struct ProfileFunction {
  std::string module;         // "" for anonymous mappings
  std::string name;           // demangled, or "0x<address>" when unknown
  std::string file;           // "" without debug info
  int line = 0;               // see the file comment; 0 when unknown
  uint64_t address = 0;       // first pc seen in it
  bool named = false;         // name came from a symbol, not the address
  bool python = false;        // a CPython function: module = file = co_filename, name = qualified
                              // name, line = co_firstlineno (cProfile's key)
};

struct FunctionStats {
  uint64_t self = 0;          // samples where it is the innermost frame
  uint64_t total = 0;         // samples where it is anywhere on the stack (once per sample)
  std::map<int, uint64_t> self_by_line;  // self samples by the innermost frame's line (0: unknown)
};

// A caller -> callee pair of adjacent frames.
struct CallEdge {
  uint32_t caller = 0, callee = 0;  // indexes into Profile::functions
  uint64_t samples = 0;       // samples containing the pair (once per sample)
  uint64_t self = 0;          // of those, samples where the callee was innermost
  int call_line = 0;          // the caller frame's line at the first sample seen
};

struct ProfileNode {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t function = kNone;  // kNone for the root
  uint32_t parent = kNone;
  uint64_t self = 0, total = 0;
  std::vector<uint32_t> children;  // node indexes, in first-seen order
};

// Node 0 is the root (no function); its total is the trie's sample count.
class ProfileTrie {
 public:
  ProfileTrie() : nodes_(1) {}
  const std::vector<ProfileNode>& nodes() const { return nodes_; }
  const ProfileNode& root() const { return nodes_[0]; }
  const ProfileNode& node(uint32_t i) const { return nodes_[i]; }
  uint64_t samples() const { return nodes_[0].total; }
  // Adds `weight` along the path of function ids given root first.
  void add(const std::vector<uint32_t>& path_root_first, uint64_t weight);
  // Calls visit(path of function ids root first, self samples) for every node
  // with self samples: each distinct stack once. Iterative: recursion in the
  // node can make stacks thousands of frames deep.
  void for_each_stack(const std::function<void(const std::vector<uint32_t>&, uint64_t)>& visit) const;

 private:
  uint32_t child(uint32_t parent, uint32_t function);
  std::vector<ProfileNode> nodes_;
  std::unordered_map<uint64_t, uint32_t> index_;  // (parent << 32 | function) -> node
};

struct ProfileThread {
  pid_t tid = 0;
  std::string name;
  ProfileTrie trie;
  // "name (tid)", or just the tid for an unnamed thread: the root frame of
  // folded stacks, the flame graph and speedscope's profile names.
  std::string label() const;
};

struct Profile {
  ProfileInfo info;
  std::vector<ProfileFunction> functions;
  std::vector<FunctionStats> stats;  // parallel to functions
  std::vector<CallEdge> edges;       // sorted by (caller, callee)
  std::vector<ProfileThread> threads;  // sorted by tid
  ProfileTrie merged;                // every thread's stacks together

  // Samples as seconds at the sampling frequency (0 when hz is unknown).
  double seconds(uint64_t samples) const { return info.hz > 0 ? double(samples) / info.hz : 0.0; }
  // A function's short display name: its name, plus the module's base name
  // for an address-only function ("0x1234 in libfoo.so").
  std::string label(uint32_t function) const;
};

class ProfileBuilder {
 public:
  explicit ProfileBuilder(ProfileInfo info = {});
  ProfileInfo& info() { return profile_.info; }
  // One sample of thread `tid`. An empty stack (nothing unwound) counts as the
  // function "[unknown]" so that every sample is somewhere in every format.
  void add(pid_t tid, const std::string& thread_name, const std::vector<Frame>& frames_innermost_first,
           uint64_t weight = 1);
  // The profile; the builder is empty afterwards.
  Profile finish();

 private:
  uint32_t function_of(const Frame& f);
  size_t edge(uint32_t caller, uint32_t callee);  // index into profile_.edges, added if new

  Profile profile_;
  std::unordered_map<std::string, uint32_t> function_ids_;  // module + '\0' + name
  std::string key_;
  std::unordered_map<uint64_t, size_t> edge_ids_;  // caller << 32 | callee
  std::unordered_map<pid_t, size_t> thread_ids_;
  // Scratch reused by add(): the marks that make "once per sample" cheap.
  std::vector<uint32_t> path_;
  std::vector<uint64_t> seen_in_sample_;
  std::vector<uint64_t> edge_seen_;  // parallel to profile_.edges until finish() sorts them
  uint64_t sample_serial_ = 0;
};

}  // namespace sonde::aggregate
