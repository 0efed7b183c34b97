#include "schedule/safe_mode.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sonde::schedule {

namespace {
constexpr const char* kFile = "startup_options.json";

SafeMode malformed(const std::string& origin, const std::string& why) {
  return SafeMode{true, origin + ": " + why + "; starting in safe mode (no scheduled jobs) until it is fixed or removed",
                  true};
}
}  // namespace

SafeMode parse_startup_options(const std::string& text, const std::string& origin) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError())
    return malformed(origin, "not valid JSON at offset " + std::to_string(doc.GetErrorOffset()) + " (" +
                                 rapidjson::GetParseError_En(doc.GetParseError()) + ")");
  if (!doc.IsObject()) return malformed(origin, "must be a JSON object");
  // Other keys may be the node's own options: they are not ours to judge.
  auto tm = doc.FindMember("task_manager");
  if (tm == doc.MemberEnd()) return SafeMode{false, origin + ": no task_manager key", false};
  if (!tm->value.IsObject()) return malformed(origin, "\"task_manager\" must be an object");
  auto flag = tm->value.FindMember("disable_pump_scheduler");
  if (flag == tm->value.MemberEnd()) return SafeMode{false, origin + ": no disable_pump_scheduler key", false};
  if (!flag->value.IsBool()) return malformed(origin, "\"disable_pump_scheduler\" must be true or false");
  bool off = flag->value.GetBool();
  return SafeMode{off, origin + (off ? ": task_manager.disable_pump_scheduler is true"
                                     : ": task_manager.disable_pump_scheduler is false"),
                  false};
}

SafeMode read_startup_options(const std::string& data_dir) {
  if (data_dir.empty()) return SafeMode{false, "no data folder", false};
  std::string path = data_dir + "/" + kFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return SafeMode{false, "no " + path, false};
  if (!std::filesystem::is_regular_file(path, ec)) return malformed(path, "not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return malformed(path, std::string("cannot be read: ") + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_startup_options(ss.str(), path);
}

SafeMode decide_safe_mode(bool disabled_by_config, const std::string& data_dir) {
  SafeMode file = read_startup_options(data_dir);
  if (!disabled_by_config) return file;
  // The config already says safe mode; a broken file is still worth a line.
  SafeMode s{true, "config file: task_manager.disable_pump_scheduler is true", file.malformed};
  if (file.malformed) s.why += "; and " + file.why;
  return s;
}

}  // namespace sonde::schedule
