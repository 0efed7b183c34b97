// The background profiles' files in the logs folder (DESIGN.md §1): written
// by POST /api/profiles as NAME-YYYYmmddTHHMMSSZ.pstat and .calltree (the
// seed's names, in the logs folder itself as DESIGN says), listed by
// GET /api/profiles, downloaded by GET /api/profiles/FILE. Nothing in the
// logs folder grows without bound: the oldest are removed past a count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::daemon {

inline constexpr const char* kProfileExtensions[] = {".pstat", ".calltree"};
inline constexpr size_t kProfileFilesKept = 200;  // 100 background profiles

// NAME as POST /api/profiles takes it: [A-Za-z0-9._-]{1,64}, not "." or "..".
bool valid_profile_name(const std::string& name);

struct ProfileFile {
  std::string name;
  uint64_t size = 0;
  double time = 0;  // modification time, epoch seconds
};
// The .pstat and .calltree files of `dir`, oldest first.
std::vector<ProfileFile> list_profile_files(const std::string& dir);
// The path of FILE in `dir`: bad_request for a name with a slash or "..", or
// not a profile file; not_found when absent.
Result<std::string> profile_file_path(const std::string& dir, const std::string& file);
// Writes `data` under a temporary name and renames it, so a listing never shows half a file.
Result<void> write_file_atomic(const std::string& path, const std::string& data);
// Removes the oldest profile files of `dir` past `keep`.
void prune_profile_files(const std::string& dir, size_t keep = kProfileFilesKept);

}  // namespace sonde::daemon
