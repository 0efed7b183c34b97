// format=collapsed: folded stacks as flamegraph.pl, inferno and speedscope
// read them: "thread;outermost;...;innermost COUNT", root first (DESIGN.md §1),
// one line per distinct stack of each thread, sorted (as stackcollapse
// scripts sort, so files diff well). The thread ("name (tid)") is the first
// frame so a flame graph splits by thread; strip it with `cut -d';' -f2-`.
// ';' separates frames and a newline ends a record, so inside a name they
// become ':' and ' '.
#include <fmt/format.h>

#include <algorithm>

#include "render/profile_renderer.h"
#include "render/profile_strings.h"

namespace sonde::render {
namespace {

std::string frame_text(const std::string& s) {
  return profile_text::replace_chars(profile_text::replace_chars(s, ";", ':'), "\r\n", ' ');
}

class CollapsedProfile final : public ProfileRenderer {
 public:
  std::string content_type() const override { return "text/plain; charset=utf-8"; }
  std::string file_extension() const override { return ".txt"; }

  std::string render(const aggregate::Profile& p) const override {
    std::vector<std::string> names;
    for (uint32_t f = 0; f < p.functions.size(); ++f) names.push_back(frame_text(p.label(f)));
    std::string out;
    for (const auto& t : p.threads) {
      std::string thread = frame_text(t.label());
      std::vector<std::string> lines;
      t.trie.for_each_stack([&](const std::vector<uint32_t>& path, uint64_t self) {
        std::string line = thread;
        for (uint32_t f : path) (line += ';') += names[f];
        lines.push_back(fmt::format("{} {}\n", line, self));
      });
      std::sort(lines.begin(), lines.end());
      for (const auto& l : lines) out += l;
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<ProfileRenderer> make_collapsed_profile() { return std::make_unique<CollapsedProfile>(); }

}  // namespace sonde::render
