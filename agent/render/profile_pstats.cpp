// format=pstats: the file Python's `pstats.Stats(path)` loads (the seed's
// ".pstat"): a marshal-ed dict
//   {(file, line, function): (cc, nc, tt, ct, {(caller key): (cc, nc, tt, ct)})}
// written byte by byte here, because marshal is a handful of type codes and
// Python is not something the agent should need.
//
// What samples mean in cProfile's columns (samples cannot count calls):
//   nc = cc = samples in which the function is on the stack, once per sample
//             (so "ncalls" is never "a/b" and means "seen in N samples";
//             print_stats' header "N function calls" sums it over functions);
//   tt = self samples / hz   (seconds with the function innermost);
//   ct = total samples / hz  (seconds on the stack; a recursive function once
//                             per sample, so ct never exceeds the profile);
//   callers[caller] = (n, n, edge self / hz, n / hz) where n = samples in
//             which caller directly called the function, and edge self the
//             ones of those where the function was innermost.
// Keys: file = the source file, else the module path, else "~" (cProfile's
// spelling for "no file"); line = the function's line (aggregate/profile.h).
// A Python function's key is cProfile's own: (co_filename, co_firstlineno, co_name).
// Two functions with the same key (one name in two modules without debug
// info) get the module's name appended so neither overwrites the other.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>
#include <tuple>

#include "render/profile_renderer.h"
#include "render/profile_strings.h"

namespace sonde::render {
namespace {

static_assert(std::endian::native == std::endian::little, "marshal is little-endian; add byte swaps");

// Python's marshal, the subset pstats needs (Python/marshal.c's type codes).
class Marshal {
 public:
  std::string bytes;

  void dict_begin() { bytes += '{'; }
  void dict_end() { bytes += '0'; }  // TYPE_NULL closes a dict
  void tuple(uint32_t n) {
    if (n < 256) {
      bytes += ')';  // TYPE_SMALL_TUPLE (marshal version >= 4)
      bytes += char(n);
    } else {
      bytes += '(';
      raw32(n);
    }
  }
  void integer(uint64_t v) {
    if (v <= 0x7fffffff) {
      bytes += 'i';
      raw32(uint32_t(v));
      return;
    }
    // TYPE_LONG: a digit count, then base-2^15 digits, least significant first.
    std::string digits;
    uint32_t n = 0;
    for (; v; v >>= 15, ++n) {
      uint16_t d = v & 0x7fff;
      digits.append(reinterpret_cast<const char*>(&d), 2);
    }
    bytes += 'l';
    raw32(n);
    bytes += digits;
  }
  void real(double v) {
    bytes += 'g';  // TYPE_BINARY_FLOAT: the 8 bytes of the IEEE double
    char raw[8];
    std::memcpy(raw, &v, 8);
    bytes.append(raw, 8);
  }
  void text(std::string_view s) {
    std::string clean = profile_text::valid_utf8(s);
    bytes += 'u';  // TYPE_UNICODE: length, then UTF-8
    raw32(uint32_t(clean.size()));
    bytes += clean;
  }

 private:
  void raw32(uint32_t v) { bytes.append(reinterpret_cast<const char*>(&v), 4); }
};

struct Key {
  std::string file, name;
  int line = 0;
};

std::vector<Key> make_keys(const aggregate::Profile& p) {
  std::vector<Key> keys;
  std::set<std::tuple<std::string, int, std::string>> used;
  for (const auto& f : p.functions) {
    Key k{!f.file.empty() ? f.file : !f.module.empty() ? f.module : "~", f.name, f.line};
    // cProfile's key of a Python function is (co_filename, co_firstlineno,
    // co_name): the last part of the qualified name.
    if (f.python) {
      auto dot = f.name.rfind('.');
      if (dot != std::string::npos && dot + 1 < f.name.size()) k.name = f.name.substr(dot + 1);
    }
    std::string module = profile_text::base_name(f.module);
    for (int n = 1; !used.insert({k.file, k.line, k.name}).second; ++n)
      k.name = n == 1 ? fmt::format("{} [{}]", f.name, module) : fmt::format("{} [{} #{}]", f.name, module, n);
    keys.push_back(std::move(k));
  }
  return keys;
}

std::string info_notes(const aggregate::Profile& p) {
  std::string s;
  for (const auto& [key, value] : p.info.notes) s += (s.empty() ? "" : ", ") + key + " " + value;
  return s;
}

class PstatsProfile final : public ProfileRenderer {
 public:
  std::string content_type() const override { return "application/octet-stream"; }
  std::string file_extension() const override { return ".pstat"; }

  std::string render(const aggregate::Profile& p) const override {
    auto keys = make_keys(p);
    Marshal m;
    auto key = [&](uint32_t fn) {
      m.tuple(3);
      m.text(keys[fn].file);
      m.integer(uint64_t(std::max(keys[fn].line, 0)));
      m.text(keys[fn].name);
    };
    m.dict_begin();
    std::vector<std::vector<const aggregate::CallEdge*>> callers(p.functions.size());
    for (const auto& edge : p.edges) callers[edge.callee].push_back(&edge);
    for (uint32_t fn = 0; fn < p.functions.size(); ++fn) {
      const auto& s = p.stats[fn];
      key(fn);
      m.tuple(5);
      m.integer(s.total);
      m.integer(s.total);
      m.real(p.seconds(s.self));
      m.real(p.seconds(s.total));
      m.dict_begin();
      for (const auto* edge : callers[fn]) {
        key(edge->caller);
        m.tuple(4);
        m.integer(edge->samples);
        m.integer(edge->samples);
        m.real(p.seconds(edge->self));
        m.real(p.seconds(edge->samples));
      }
      m.dict_end();
    }
    if (p.functions.empty()) {
      // pstats refuses an empty dict ("Cannot create or construct a Stats
      // object"), and an idle node gives no samples: one empty entry says so.
      m.tuple(3);
      m.text("~");
      m.integer(0);
      m.text("<no samples>");
      m.tuple(5);
      m.integer(0);
      m.integer(0);
      m.real(0);
      m.real(0);
      m.dict_begin();
      m.dict_end();
    }
    if (!info_notes(p).empty()) {
      // The notes (a proxied call's route, status and duration) as one entry
      // without cost: pstats has no header, and print_stats lists it.
      m.tuple(3);
      m.text("~");
      m.integer(0);
      m.text("<" + info_notes(p) + ">");
      m.tuple(5);
      for (int i = 0; i < 2; ++i) m.integer(0);
      for (int i = 0; i < 2; ++i) m.real(0);
      m.dict_begin();
      m.dict_end();
    }
    m.dict_end();
    return std::move(m.bytes);
  }
};

}  // namespace

std::unique_ptr<ProfileRenderer> make_pstats_profile() { return std::make_unique<PstatsProfile>(); }

}  // namespace sonde::render
