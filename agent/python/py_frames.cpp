#include "python/py_frames.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "python/py_field.h"
#include "python/py_linetable.h"
#include "python/py_string.h"
#include "python/py_threads.h"

namespace sonde::python {

namespace {

constexpr long kMaxLinetable = 1 << 20;

}  // namespace

RawStack read_raw_frames(const memory::RemoteMemory& mem, const PyRuntime& rt, uint64_t tstate) {
  const auto& l = rt.layout;
  RawStack out;
  uint64_t frame = 0;
  if (l.tstate_current_frame >= 0) {
    auto f = mem.read_u64(tstate + uint64_t(l.tstate_current_frame));
    if (!f) return {{}, false};
    frame = *f;
  } else {
    auto cframe = mem.read_u64(tstate + uint64_t(l.tstate_cframe));
    if (!cframe) return {{}, false};
    if (*cframe == 0) return out;  // no Python code running on this thread
    if (!plausible_pointer(*cframe)) return {{}, false};
    auto f = mem.read_u64(*cframe + uint64_t(l.cframe_current_frame));
    if (!f) return {{}, false};
    frame = *f;
  }
  std::vector<uint8_t> bytes(size_t(l.frame_size));
  for (int n = 0; frame != 0; ++n) {
    if (n >= kMaxFrames || !plausible_pointer(frame) || !mem.read(frame, bytes.data(), bytes.size())) {
      out.complete = false;
      break;
    }
    RawFrame f;
    f.code = field<uint64_t>(bytes, l.frame_code);
    f.instr = field<uint64_t>(bytes, l.frame_instr);
    char owner = field<char>(bytes, l.frame_owner);
    if (l.owner_cstack >= 0 && owner == l.owner_cstack) {
      f.code = 0;
      f.ends_call = true;
    } else if (l.frame_is_entry >= 0) {
      f.ends_call = field<uint8_t>(bytes, l.frame_is_entry) != 0;
    }
    out.frames.push_back(f);
    uint64_t previous = field<uint64_t>(bytes, l.frame_previous);
    if (previous == frame) {
      out.complete = false;
      break;
    }
    frame = previous;
  }
  return out;
}

CodeInfo* CodeReader::code(uint64_t address) {
  const auto& l = rt_.layout;
  if (!plausible_pointer(address)) return nullptr;
  if (auto it = cache_.find(address); it != cache_.end() && it->second->checked_in == pass_) return it->second.get();
  // One read of the header: the type check and the signature of the cache.
  long head_size = std::max<long>({l.code_filename, l.code_name, l.code_qualname, l.code_linetable, l.code_firstlineno,
                             l.object_type}) + 8;
  std::vector<uint8_t> head(static_cast<size_t>(head_size));
  if (!mem_.read(address, head.data(), head.size())) return nullptr;
  if (rt_.code_type && field<uint64_t>(head, l.object_type) != rt_.code_type) return nullptr;
  uint64_t filename = field<uint64_t>(head, l.code_filename), name = field<uint64_t>(head, l.code_name),
           qualname = field<uint64_t>(head, l.code_qualname), table = field<uint64_t>(head, l.code_linetable);
  int first_line = field<int32_t>(head, l.code_firstlineno);
  uint64_t sig = filename * 31 + name * 17 + qualname * 7 + table * 3 + uint64_t(first_line);
  auto& slot = cache_[address];
  if (slot && slot->header_sig == sig) {
    slot->checked_in = pass_;
    return slot.get();
  }
  ++misses_;
  auto info = std::make_unique<CodeInfo>();
  info->header_sig = sig;
  info->checked_in = pass_;
  info->first_line = first_line;
  auto fn = read_str(mem_, rt_, filename);
  auto nm = read_str(mem_, rt_, name);
  if (!fn || !nm) {
    cache_.erase(address);
    return nullptr;
  }
  info->filename = *fn;
  info->name = *nm;
  auto qn = read_str(mem_, rt_, qualname);
  info->qualname = qn ? *qn : info->name;
  // co_linetable is a bytes object: its size, then the bytes.
  if (plausible_pointer(table)) {
    int64_t size = 0;
    if (mem_.read(table + uint64_t(l.bytes_size), &size, sizeof size) && size >= 0 && size <= kMaxLinetable) {
      std::string bytes(size_t(size), '\0');
      if (mem_.read(table + uint64_t(l.bytes_sval), bytes.data(), bytes.size())) info->linetable = std::move(bytes);
    }
  }
  slot = std::move(info);
  return slot.get();
}

std::vector<std::vector<symbolize::SymbolFrame>> CodeReader::groups(const RawStack& stack) {
  std::vector<std::vector<symbolize::SymbolFrame>> out(1);
  for (const auto& raw : stack.frames) {
    if (raw.code) {
      if (CodeInfo* c = code(raw.code)) {
        symbolize::SymbolFrame f;
        f.python = true;
        f.function = c->qualname;
        f.file = c->filename;
        f.module = c->filename;
        f.def_line = c->first_line;
        uint64_t bytecode = raw.code + uint64_t(rt_.layout.code_adaptive);
        long offset = long(int64_t(raw.instr - bytecode));
        // An instruction pointer outside any plausible bytecode: no line rather than a wrong one.
        int line = 0;
        if (offset >= -2 && offset < kMaxLinetable * 8) {
          auto [it, added] = c->lines.try_emplace(offset, 0);
          if (added) it->second = line_for_offset(c->linetable, c->first_line, offset);
          line = it->second;
        }
        f.line = line > 0 ? line : 0;
        f.address = raw.code;
        out.back().push_back(std::move(f));
      }
    }
    if (raw.ends_call) out.emplace_back();
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

}  // namespace sonde::python
