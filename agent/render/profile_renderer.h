// One interface for the CPU profile formats (DESIGN.md §1, GET /api/profile
// format=F): pstats, calltree, collapsed, speedscope, pprof, flamegraph and
// json. One file per format; profile_renderer() picks by name. The route
// names the download "<something><file_extension()>".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aggregate/profile.h"

namespace sonde::render {

class ProfileRenderer {
 public:
  virtual ~ProfileRenderer() = default;
  virtual std::string content_type() const = 0;
  virtual std::string file_extension() const = 0;  // with the dot: ".pstat", ".pb.gz", ...
  // Bytes (pstats and pprof are binary).
  virtual std::string render(const aggregate::Profile& profile) const = 0;
};

// nullptr for an unknown name.
std::unique_ptr<ProfileRenderer> profile_renderer(const std::string& format);
// "pstats", "calltree", "collapsed", "speedscope", "pprof", "flamegraph", "json"
std::vector<std::string> profile_formats();

std::unique_ptr<ProfileRenderer> make_pstats_profile();
std::unique_ptr<ProfileRenderer> make_calltree_profile();
std::unique_ptr<ProfileRenderer> make_collapsed_profile();
std::unique_ptr<ProfileRenderer> make_speedscope_profile();
std::unique_ptr<ProfileRenderer> make_pprof_profile();
std::unique_ptr<ProfileRenderer> make_flamegraph_profile();
std::unique_ptr<ProfileRenderer> make_json_profile();

}  // namespace sonde::render
