// What goes into an incident bundle, as a list of parts other features
// register into: the stacks part writes stacktrace.html and stacks.json, the
// status part status.json, and so on. A CPU profile (profile.pstat,
// profile.html) and a heap summary (heap.txt) are parts too, registered by
// those features when they land; until then the bundle's README.txt says they
// were skipped and why.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sonde::incident {

struct BundlePart {
  std::string name;                 // "stacks", "profile", ... (for logs)
  std::vector<std::string> files;   // the file names it writes into the bundle folder
  // Writes its files into `dir` (the bundle folder, not yet visible to readers).
  std::function<Result<void>(const std::string& dir)> write;
};

// The files DESIGN.md §1 promises in a bundle, in README order, with what each is.
const std::vector<std::pair<std::string, std::string>>& expected_files();

// Thread-safe: features register at start-up, bundles are written on workers.
class BundleParts {
 public:
  void add(BundlePart part);
  std::vector<BundlePart> all() const;

 private:
  mutable std::mutex mu_;
  std::vector<BundlePart> parts_;
};

}  // namespace sonde::incident
