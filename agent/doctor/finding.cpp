#include "doctor/finding.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sonde::doctor {

bool Report::attach_will_work() const {
  for (const auto& f : findings)
    if (f.level == Level::fail) return false;
  return true;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::ok: return "ok";
    case Level::warn: return "warn";
    case Level::fail: return "FAIL";
  }
  return "?";
}

std::string render_text(const Report& report) {
  std::string out;
  for (const auto& f : report.findings) {
    std::string level = level_name(f.level);
    level.resize(4, ' ');  // the columns line up: ok, warn and FAIL
    out += level + "  " + f.check + ": " + f.finding;
    if (!f.fix.empty()) out += " \u2014 fix: " + f.fix;
    out += "\n";
  }
  std::string methods;
  for (const auto& m : report.allocator_methods) methods += (methods.empty() ? "" : ", ") + m;
  out += report.attach_will_work()
             ? "=> attach to pid " + std::to_string(report.pid) + " will work: stacks by ptrace, CPU samples by " +
                   report.sampler + ", memory by " + methods + "\n"
             : "=> attach to pid " + std::to_string(report.pid) + " will NOT work: fix the FAIL lines above\n";
  return out;
}

std::string render_json(const Report& report) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("pid");
  w.Int(report.pid);
  w.Key("attach");
  w.Bool(report.attach_will_work());
  w.Key("sampler");
  str(report.sampler);
  w.Key("allocator_methods");
  w.StartArray();
  for (const auto& m : report.allocator_methods) str(m);
  w.EndArray();
  w.Key("checks");
  w.StartArray();
  for (const auto& f : report.findings) {
    w.StartObject();
    w.Key("status");
    str(f.level == Level::fail ? "fail" : level_name(f.level));
    w.Key("check");
    str(f.check);
    w.Key("finding");
    str(f.finding);
    if (!f.fix.empty()) {
      w.Key("fix");
      str(f.fix);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace sonde::doctor
