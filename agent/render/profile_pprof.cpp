// format=pprof: a gzipped perftools.profiles.Profile (github.com/google/pprof,
// proto/profile.proto), what `go tool pprof`, pprof's web UI, Pyroscope and
// Parca read (DESIGN.md §1: pprof is gzipped).
//
// Encoded by hand, not with libprotobuf: the wire format needed here is two
// things (a varint, and a length-prefixed byte string) and ten lines below,
// while generated code would add a library, a protoc step in the build and a
// .proto to keep in sync for one writer. Field numbers are profile.proto's.
// Repeated numbers are written unpacked (one tag each): every proto parser
// must accept that, and `protoc --decode_raw` then shows them as numbers.
//
// Shape: one Function and one Location per profile function (a Location per
// function rather than per pc: samples are aggregated by function already),
// one Mapping per module, and one Sample per distinct stack of each thread,
// locations leaf first, values [samples, cpu nanoseconds], labels "thread"
// (name) and "thread_id" (tid). Inlined frames are Locations of their own.
#include <fmt/format.h>
#include <zlib.h>

#include <cmath>
#include <map>
#include <stdexcept>

#include "render/profile_renderer.h"
#include "render/profile_strings.h"

namespace sonde::render {
namespace {

class ProtoWriter {
 public:
  std::string bytes;

  void varint(uint32_t field, uint64_t v) {
    raw_varint(uint64_t(field) << 3 | 0);  // wire type 0: varint
    raw_varint(v);
  }
  void string(uint32_t field, std::string_view s) {
    raw_varint(uint64_t(field) << 3 | 2);  // wire type 2: length-delimited
    raw_varint(s.size());
    bytes += s;
  }
  void message(uint32_t field, const ProtoWriter& m) { string(field, m.bytes); }

 private:
  void raw_varint(uint64_t v) {
    for (; v >= 0x80; v >>= 7) bytes += char(v | 0x80);
    bytes += char(v);
  }
};

// Profile.string_table: index 0 must be "".
class Strings {
 public:
  uint64_t operator()(const std::string& s) {
    auto [it, added] = ids_.try_emplace(profile_text::valid_utf8(s), table_.size());
    if (added) table_.push_back(it->first);
    return it->second;
  }
  const std::vector<std::string>& table() const { return table_; }

 private:
  std::map<std::string, uint64_t> ids_{{"", 0}};
  std::vector<std::string> table_{""};
};

ProtoWriter value_type(Strings& str, const char* type, const char* unit) {
  ProtoWriter v;
  v.varint(1, str(type));  // ValueType.type
  v.varint(2, str(unit));  // ValueType.unit
  return v;
}

std::string gzip(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31 /* 15 + 16: gzip header */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("pprof: deflateInit2 failed");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("pprof: deflate did not finish");
  return out;
}

class PprofProfile final : public ProfileRenderer {
 public:
  std::string content_type() const override { return "application/octet-stream"; }
  std::string file_extension() const override { return ".pb.gz"; }

  std::string render(const aggregate::Profile& p) const override {
    Strings str;
    ProtoWriter prof;
    const uint64_t period_ns = p.info.hz > 0 ? uint64_t(std::llround(1e9 / p.info.hz)) : 0;

    prof.message(1, value_type(str, "samples", "count"));  // sample_type
    prof.message(1, value_type(str, "cpu", "nanoseconds"));

    for (const auto& t : p.threads) {
      t.trie.for_each_stack([&](const std::vector<uint32_t>& path, uint64_t self) {
        ProtoWriter s;
        for (auto f = path.rbegin(); f != path.rend(); ++f) s.varint(1, *f + 1);  // location_id, leaf first
        s.varint(2, self);  // value
        s.varint(2, self * period_ns);
        ProtoWriter name, tid;
        name.varint(1, str("thread"));  // Label.key, Label.str
        name.varint(2, str(t.name));
        s.message(3, name);
        tid.varint(1, str("thread_id"));  // Label.key, Label.num
        tid.varint(3, uint64_t(t.tid));
        s.message(3, tid);
        prof.message(2, s);  // sample
      });
    }

    std::map<std::string, uint64_t> mapping_ids;
    for (const auto& f : p.functions) {
      if (f.module.empty() || mapping_ids.count(f.module)) continue;
      uint64_t id = mapping_ids.size() + 1;
      mapping_ids[f.module] = id;
      ProtoWriter m;
      m.varint(1, id);            // Mapping.id
      m.varint(5, str(f.module));  // filename
      m.varint(7, 1);             // has_functions: symbolized already, pprof must not try
      prof.message(3, m);
    }

    for (uint32_t i = 0; i < p.functions.size(); ++i) {
      const auto& f = p.functions[i];
      ProtoWriter loc, line;
      loc.varint(1, i + 1);  // Location.id
      if (!f.module.empty()) loc.varint(2, mapping_ids[f.module]);
      if (f.address) loc.varint(3, f.address);
      line.varint(1, i + 1);  // Line.function_id
      if (f.line > 0) line.varint(2, uint64_t(f.line));
      loc.message(4, line);
      prof.message(4, loc);  // location
    }
    for (uint32_t i = 0; i < p.functions.size(); ++i) {
      const auto& f = p.functions[i];
      ProtoWriter fn;
      fn.varint(1, i + 1);  // Function.id
      fn.varint(2, str(p.label(i)));
      fn.varint(3, str(f.name));  // system_name
      fn.varint(4, str(!f.file.empty() ? f.file : f.module));
      if (f.line > 0) fn.varint(5, uint64_t(f.line));
      prof.message(5, fn);  // function
    }

    uint64_t comment = str(fmt::format("sonde: pid {} {}, sampler {}, {} samples at {} Hz, {} dropped{}", p.info.pid,
                                       p.info.exe, p.info.sampler, p.info.samples, p.info.hz, p.info.dropped,
                                       p.info.partial ? ", partial" : ""));
    uint64_t cpu = str("cpu");
    ProtoWriter period_type = value_type(str, "cpu", "nanoseconds");
    for (const auto& s : str.table()) prof.string(6, s);  // string_table
    if (p.info.start_time > 0) prof.varint(9, uint64_t(std::llround(p.info.start_time * 1e9)));  // time_nanos
    prof.varint(10, uint64_t(std::llround(p.info.duration_s * 1e9)));                          // duration_nanos
    prof.message(11, period_type);
    prof.varint(12, period_ns);  // period
    prof.varint(13, comment);
    prof.varint(14, cpu);  // default_sample_type
    return gzip(prof.bytes);
  }
};

}  // namespace

std::unique_ptr<ProfileRenderer> make_pprof_profile() { return std::make_unique<PprofProfile>(); }

}  // namespace sonde::render
