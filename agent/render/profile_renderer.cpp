#include "render/profile_renderer.h"

namespace sonde::render {

std::vector<std::string> profile_formats() {
  return {"pstats", "calltree", "collapsed", "speedscope", "pprof", "flamegraph", "json"};
}

std::unique_ptr<ProfileRenderer> profile_renderer(const std::string& format) {
  if (format == "pstats") return make_pstats_profile();
  if (format == "calltree") return make_calltree_profile();
  if (format == "collapsed") return make_collapsed_profile();
  if (format == "speedscope") return make_speedscope_profile();
  if (format == "pprof") return make_pprof_profile();
  if (format == "flamegraph") return make_flamegraph_profile();
  if (format == "json") return make_json_profile();
  return nullptr;
}

}  // namespace sonde::render
