// format=speedscope: speedscope's own file format
// (https://www.speedscope.app/file-format-schema.json): one frame per
// function in shared.frames, one "sampled" profile per thread whose samples
// are the thread's distinct stacks (frame indexes, root first) weighted by
// how many samples saw them. The unit is "none": weights are sample counts
// (a count is exact; seconds are count / hz and in the profile's name).
// speedscope opens on the busiest thread.
#include <fmt/format.h>

#include "render/json_writer.h"
#include "render/profile_renderer.h"
#include "sonde_version.h"

namespace sonde::render {
namespace {


class SpeedscopeProfile final : public ProfileRenderer {
 public:
  std::string content_type() const override { return "application/json"; }
  std::string file_extension() const override { return ".speedscope.json"; }

  std::string render(const aggregate::Profile& p) const override {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    json_key_string(w, "$schema", "https://www.speedscope.app/file-format-schema.json");
    json_key_string(w, "exporter", "sonde " SONDE_VERSION);
    json_key_string(w, "name", fmt::format("pid {} {} ({} samples at {} Hz, {:.1f} s, {})", p.info.pid, p.info.exe,
                                           p.info.samples, p.info.hz, p.info.duration_s, p.info.sampler));
    size_t busiest = 0;
    for (size_t i = 0; i < p.threads.size(); ++i)
      if (p.threads[i].trie.samples() > p.threads[busiest].trie.samples()) busiest = i;
    w.Key("activeProfileIndex");
    w.Uint64(busiest);

    w.Key("shared");
    w.StartObject();
    w.Key("frames");
    w.StartArray();
    for (uint32_t f = 0; f < p.functions.size(); ++f) {
      const auto& fun = p.functions[f];
      w.StartObject();
      json_key_string(w, "name", p.label(f));
      if (!fun.file.empty() || !fun.module.empty()) json_key_string(w, "file", fun.file.empty() ? fun.module : fun.file);
      if (fun.line > 0) {
        w.Key("line");
        w.Int(fun.line);
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();

    w.Key("profiles");
    w.StartArray();
    for (const auto& t : p.threads) {
      std::vector<std::vector<uint32_t>> stacks;
      std::vector<uint64_t> weights;
      t.trie.for_each_stack([&](const std::vector<uint32_t>& path, uint64_t self) {
        stacks.push_back(path);
        weights.push_back(self);
      });
      w.StartObject();
      json_key_string(w, "type", "sampled");
      json_key_string(w, "name", t.label());
      json_key_string(w, "unit", "none");
      w.Key("startValue");
      w.Uint64(0);
      w.Key("endValue");
      w.Uint64(t.trie.samples());
      w.Key("samples");
      w.StartArray();
      for (const auto& s : stacks) {
        w.StartArray();
        for (uint32_t f : s) w.Uint(f);
        w.EndArray();
      }
      w.EndArray();
      w.Key("weights");
      w.StartArray();
      for (uint64_t n : weights) w.Uint64(n);
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }
};

}  // namespace

std::unique_ptr<ProfileRenderer> make_speedscope_profile() { return std::make_unique<SpeedscopeProfile>(); }

}  // namespace sonde::render
