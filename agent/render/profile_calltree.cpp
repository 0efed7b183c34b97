// format=calltree: the callgrind format (valgrind.org/docs/manual/cl-format.html)
// that KCachegrind and callgrind_annotate read: the seed's ".calltree" files.
//
// One event, "Samples". Each function is one block (ob= module, fl= source
// file or "???" as valgrind writes it without debug info, fn= name) with:
//   - self cost lines "LINE SAMPLES", by the line of the innermost frame;
//   - one call per callee: "cfi= cfn= / calls=N LINE / CALL_LINE SAMPLES",
//     N and SAMPLES both the samples in which the caller directly called the
//     callee (once per sample), LINE the callee's line, CALL_LINE the caller's
//     line at the call. KCachegrind adds a call's cost to the caller's
//     inclusive cost, so a function's inclusive cost is self + its calls' —
//     exact without recursion; a recursive cycle is reported as valgrind's own
//     output reports it (KCachegrind marks the cycle).
// Names, files and modules use name compression ("fn=(3) name" once, then
// "fn=(3)"), which also keeps a name starting with "(" from being misread.
#include <fmt/format.h>

#include <map>

#include "render/profile_renderer.h"
#include "render/profile_strings.h"
#include "sonde_version.h"

namespace sonde::render {
namespace {

// "(id) name" the first time a name is written in its kind, "(id)" after.
class Compressor {
 public:
  std::string operator()(const std::string& name) {
    auto [it, added] = ids_.try_emplace(name, ids_.size() + 1);
    return added ? fmt::format("({}) {}", it->second, name) : fmt::format("({})", it->second);
  }

 private:
  std::map<std::string, size_t> ids_;
};

std::string one_line(const std::string& s) { return profile_text::replace_chars(s, "\r\n", ' '); }

class CalltreeProfile final : public ProfileRenderer {
 public:
  std::string content_type() const override { return "application/octet-stream"; }
  std::string file_extension() const override { return ".calltree"; }

  std::string render(const aggregate::Profile& p) const override {
    const auto& info = p.info;
    std::string out = "# callgrind format\nversion: 1\ncreator: sonde " SONDE_VERSION "\n";
    out += fmt::format("pid: {}\n", info.pid);
    if (!info.exe.empty()) out += fmt::format("cmd: {}\n", one_line(info.exe));
    out += "part: 1\n";
    out += fmt::format("desc: Sampler: {} at {} Hz, {} samples, {} dropped{}\n", info.sampler.empty() ? "?" : info.sampler,
                       info.hz, info.samples, info.dropped, info.partial ? ", partial (the node exited)" : "");
    out += fmt::format("desc: Duration: {:.3f} s, threads: {}\n", info.duration_s, info.threads);
    for (const auto& [key, value] : info.notes) out += fmt::format("desc: {}: {}\n", one_line(key), one_line(value));
    out += "positions: line\nevents: Samples\n";

    Compressor ob, fl, fn;
    auto file_of = [&](uint32_t f) { return p.functions[f].file.empty() ? std::string("???") : one_line(p.functions[f].file); };
    auto name_of = [&](uint32_t f) { return one_line(p.label(f)); };
    auto module_of = [&](uint32_t f) { return p.functions[f].module.empty() ? std::string("???") : one_line(p.functions[f].module); };
    size_t e = 0;  // edges are sorted by caller
    for (uint32_t f = 0; f < p.functions.size(); ++f) {
      out += fmt::format("\nob={}\nfl={}\nfn={}\n", ob(module_of(f)), fl(file_of(f)), fn(name_of(f)));
      for (const auto& [line, samples] : p.stats[f].self_by_line) out += fmt::format("{} {}\n", line, samples);
      while (e < p.edges.size() && p.edges[e].caller < f) ++e;
      for (; e < p.edges.size() && p.edges[e].caller == f; ++e) {
        const auto& edge = p.edges[e];
        const auto& callee = p.functions[edge.callee];
        out += fmt::format("cob={}\ncfi={}\ncfn={}\ncalls={} {}\n{} {}\n", ob(module_of(edge.callee)),
                           fl(file_of(edge.callee)), fn(name_of(edge.callee)), edge.samples, callee.line,
                           edge.call_line, edge.samples);
      }
    }
    out += fmt::format("\ntotals: {}\n", info.samples);
    return out;
  }
};

}  // namespace

std::unique_ptr<ProfileRenderer> make_calltree_profile() { return std::make_unique<CalltreeProfile>(); }

}  // namespace sonde::render
