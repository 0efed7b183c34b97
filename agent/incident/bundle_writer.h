// Writes one incident bundle: incidents/<YYYYmmddTHHMMSSZ>/ with every
// registered part's files and a README.txt that lists what is there and what
// was skipped and why. The folder is filled under a hidden name and renamed
// when complete, so a reader (GET /api/incidents) never sees half a bundle.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "incident/bundle_parts.h"

namespace sonde::incident {

struct BundleReport {
  std::string id;     // the folder's name
  std::string dir;    // its full path
  std::vector<std::string> written;                          // file names
  std::vector<std::pair<std::string, std::string>> skipped;  // file name, why
};

// A new bundle id for `epoch`: the compact UTC time, with "-2", "-3", ... when
// a bundle of that second exists already.
std::string new_bundle_id(const std::string& incidents_dir, double epoch);

// `reason` is the health result that made the incident ("fail 500", ...).
// `before_publish` gets the complete bundle's size just before it appears
// (retention makes room there).
Result<BundleReport> write_bundle(const std::string& incidents_dir, const std::string& id, double epoch,
                                  const std::string& reason, const std::vector<BundlePart>& parts,
                                  const std::function<void(uint64_t bytes)>& before_publish = {});

// Hidden folders of bundles that a crash left half-written.
inline constexpr const char* kPartialPrefix = ".partial-";

}  // namespace sonde::incident
