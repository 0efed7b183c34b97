// format=json: our own profile document, for scripts and the tests:
//   {"pid", "exe", "start_time" (ISO 8601 UTC), "duration_s", "hz", "sampler",
//    "samples", "dropped", "partial", "threads_filter",
//    "probe_cpu_s" (eBPF only: the probe's CPU time in the node's context),
//    "functions": [{"id", "name", "module", "file", "line", "address",
//                   "self", "total", "self_percent", "total_percent"}],
//    "threads": [{"tid", "name", "samples",
//                 "stacks": [{"frames": [function ids, root first], "samples": N}]}]}
// Stacks are folded per thread (each distinct stack once, with its count)
// rather than a nested trie: flat, as small, and one loop to consume.
// Functions are in id order; self/total count a function once per sample.
// As in the stacks document, unknown facts are absent (no "file": "").
#include <fmt/format.h>

#include "protocol/iso_time.h"
#include "render/json_writer.h"
#include "render/profile_renderer.h"

namespace sonde::render {
namespace {


class JsonProfile final : public ProfileRenderer {
 public:
  std::string content_type() const override { return "application/json"; }
  std::string file_extension() const override { return ".json"; }

  std::string render(const aggregate::Profile& p) const override {
    const auto& info = p.info;
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    auto percent = [&](uint64_t n) { return info.samples ? 100.0 * double(n) / double(info.samples) : 0.0; };
    w.StartObject();
    w.Key("pid");
    w.Int(info.pid);
    if (!info.exe.empty()) json_key_string(w, "exe", info.exe);
    if (info.start_time > 0) json_key_string(w, "start_time", protocol::iso_utc(info.start_time));
    w.Key("duration_s");
    w.Double(info.duration_s);
    w.Key("hz");
    w.Int(info.hz);
    if (!info.sampler.empty()) json_key_string(w, "sampler", info.sampler);
    w.Key("samples");
    w.Uint64(info.samples);
    w.Key("dropped");
    w.Uint64(info.dropped);
    w.Key("partial");
    w.Bool(info.partial);
    json_key_string(w, "threads_filter", info.threads);
    if (info.probe_cpu_s >= 0) {
      w.Key("probe_cpu_s");
      w.Double(info.probe_cpu_s);
    }
    if (!info.notes.empty()) {
      w.Key("notes");
      w.StartObject();
      for (const auto& [key, value] : info.notes) json_key_string(w, key.c_str(), value);
      w.EndObject();
    }

    w.Key("functions");
    w.StartArray();
    for (uint32_t f = 0; f < p.functions.size(); ++f) {
      const auto& fun = p.functions[f];
      const auto& s = p.stats[f];
      w.StartObject();
      w.Key("id");
      w.Uint(f);
      json_key_string(w, "name", fun.name);
      if (!fun.module.empty()) json_key_string(w, "module", fun.module);
      if (!fun.file.empty()) json_key_string(w, "file", fun.file);
      if (fun.line > 0) {
        w.Key("line");
        w.Int(fun.line);
      }
      if (fun.address) json_key_string(w, "address", fmt::format("0x{:x}", fun.address));
      w.Key("self");
      w.Uint64(s.self);
      w.Key("total");
      w.Uint64(s.total);
      w.Key("self_percent");
      w.Double(percent(s.self));
      w.Key("total_percent");
      w.Double(percent(s.total));
      w.EndObject();
    }
    w.EndArray();

    w.Key("threads");
    w.StartArray();
    for (const auto& t : p.threads) {
      w.StartObject();
      w.Key("tid");
      w.Int(t.tid);
      if (!t.name.empty()) json_key_string(w, "name", t.name);
      w.Key("samples");
      w.Uint64(t.trie.samples());
      w.Key("stacks");
      w.StartArray();
      t.trie.for_each_stack([&](const std::vector<uint32_t>& path, uint64_t self) {
        w.StartObject();
        w.Key("frames");
        w.StartArray();
        for (uint32_t f : path) w.Uint(f);
        w.EndArray();
        w.Key("samples");
        w.Uint64(self);
        w.EndObject();
      });
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }
};

}  // namespace

std::unique_ptr<ProfileRenderer> make_json_profile() { return std::make_unique<JsonProfile>(); }

}  // namespace sonde::render
