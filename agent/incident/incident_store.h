// Reading the incident bundles back for the API: which there are (oldest
// first, with their files and sizes) and the path of one file, refusing any
// name that could leave the bundle's folder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::incident {

struct BundleFile {
  std::string name;
  uint64_t bytes = 0;
};

struct BundleListing {
  std::string id;
  double time = 0;  // epoch seconds, from the id
  std::vector<BundleFile> files;
  uint64_t bytes = 0;
};

// YYYYmmddTHHMMSSZ, optionally followed by -N.
bool valid_bundle_id(const std::string& id);
// The epoch seconds an id names (0 when it is not an id).
double bundle_time(const std::string& id);
// A plain file name: no slash, no "..", no leading dot, printable ASCII.
bool valid_file_name(const std::string& name);

// Every complete bundle in `incidents_dir`, oldest first (ids sort by time).
std::vector<BundleListing> list_bundles(const std::string& incidents_dir);
// One bundle; not_found when there is none with this id.
Result<BundleListing> find_bundle(const std::string& incidents_dir, const std::string& id);
// The full path of FILE in bundle ID: bad_request for a bad name, not_found when absent.
Result<std::string> bundle_file_path(const std::string& incidents_dir, const std::string& id, const std::string& file);

}  // namespace sonde::incident
