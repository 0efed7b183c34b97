#include "python/py_dict.h"

#include <algorithm>

#include "python/py_field.h"
#include "python/py_string.h"
#include "python/py_threads.h"

namespace sonde::python {

namespace {

constexpr uint8_t kKeysGeneral = 0;  // DictKeysKind (3.11-3.13): general keys carry their hash
constexpr uint8_t kKeysSplit = 2;    // an instance dict's shared keys

}  // namespace

Result<uint64_t> ObjectReader::type_of(uint64_t object) const {
  if (!plausible_pointer(object)) return fail(ErrorCode::io, "bad object pointer");
  return mem_.read_u64(object + uint64_t(rt_.layout.object_type));
}

Result<std::vector<DictItem>> ObjectReader::items_of(uint64_t keys, uint64_t values) const {
  if (!plausible_pointer(keys)) return fail(ErrorCode::io, "bad dict keys pointer");
  std::vector<uint8_t> head(size_t(ol_.keys_indices));
  if (auto r = mem_.read(keys, head.data(), head.size()); !r) return std::unexpected(r.error());
  uint8_t kind = field<uint8_t>(head, ol_.keys_kind), log2_index_bytes = field<uint8_t>(head, ol_.keys_log2_index_bytes);
  int64_t n = field<int64_t>(head, ol_.keys_nentries);
  if (kind > kKeysSplit || log2_index_bytes > 24 || n < 0 || n > kMaxItems)
    return fail(ErrorCode::io, "implausible dict keys header");
  const bool general = kind == kKeysGeneral;
  const long size = general ? ol_.entry_size : ol_.unicode_entry_size;
  const long key_at = general ? ol_.entry_key : ol_.unicode_entry_key;
  const long value_at = general ? ol_.entry_value : ol_.unicode_entry_value;
  uint64_t entries = keys + uint64_t(ol_.keys_indices) + (uint64_t(1) << log2_index_bytes);
  std::vector<uint8_t> raw(size_t(n * size));
  if (auto r = mem_.read(entries, raw.data(), raw.size()); !r) return std::unexpected(r.error());

  // Split table: the values live apart, indexed like the shared keys, and
  // an instance made before the keys grew has fewer of them.
  std::vector<uint64_t> split;
  if (values) {
    if (!plausible_pointer(values)) return fail(ErrorCode::io, "bad dict values pointer");
    long capacity = 0;
    if (ol_.values_capacity >= 0) {
      uint8_t c = 0;
      if (auto r = mem_.read(values + uint64_t(ol_.values_capacity), &c, 1); !r) return std::unexpected(r.error());
      capacity = c;
    } else {
      uint8_t prefix = 0;  // the byte before the values: capacity + 2, rounded up to 8
      if (auto r = mem_.read(values - 1, &prefix, 1); !r) return std::unexpected(r.error());
      capacity = prefix >= 2 ? prefix - 2 : 0;
    }
    split.resize(size_t(std::min<int64_t>(n, capacity)));
    if (!split.empty())
      if (auto r = mem_.read(values + uint64_t(ol_.values_values), split.data(), split.size() * 8); !r)
        return std::unexpected(r.error());
  }
  std::vector<DictItem> out;
  for (int64_t i = 0; i < n; ++i) {
    DictItem item;
    long at = long(i) * size;
    item.key = field<uint64_t>(raw, at + key_at);
    if (values)
      item.value = size_t(i) < split.size() ? split[size_t(i)] : 0;
    else
      item.value = field<uint64_t>(raw, at + value_at);
    if (general) item.hash = field<uint64_t>(raw, at + ol_.entry_hash);
    if (item.key && item.value) out.push_back(item);
  }
  return out;
}

Result<std::vector<DictItem>> ObjectReader::items(uint64_t dict) const {
  auto type = type_of(dict);
  if (!type) return std::unexpected(type.error());
  if (rt_.dict_type && *type != rt_.dict_type) return fail(ErrorCode::io, "not a dict");
  std::vector<uint8_t> head(size_t(std::max(ol_.dict_keys, ol_.dict_values) + 8));
  if (auto r = mem_.read(dict, head.data(), head.size()); !r) return std::unexpected(r.error());
  return items_of(field<uint64_t>(head, ol_.dict_keys), field<uint64_t>(head, ol_.dict_values));
}

Result<uint64_t> ObjectReader::find(uint64_t container, const Result<std::vector<DictItem>>& items,
                                    std::string_view key) const {
  if (!items) return std::unexpected(items.error());
  std::pair<uint64_t, std::string> hint_key{container, std::string(key)};
  if (hints_)
    if (auto h = hints_->find(hint_key); h != hints_->end())
      for (const auto& item : *items)
        if (item.key == h->second) return item.value;
  for (const auto& item : *items) {
    auto s = read_str(mem_, rt_, item.key);  // a key that is no str is simply not this one
    if (s && *s == key) {
      if (hints_) (*hints_)[hint_key] = item.key;
      return item.value;
    }
  }
  return uint64_t(0);
}

Result<uint64_t> ObjectReader::get(uint64_t dict, std::string_view key) const {
  return find(dict, items(dict), key);
}

Result<uint64_t> ObjectReader::module_dict(uint64_t module) const {
  if (!plausible_pointer(module)) return fail(ErrorCode::io, "bad module pointer");
  if (rt_.module_type) {
    auto type = type_of(module);
    if (!type) return std::unexpected(type.error());
    if (*type != rt_.module_type) return fail(ErrorCode::io, "not a module");
  }
  return mem_.read_u64(module + uint64_t(ol_.module_dict));
}

Result<uint64_t> ObjectReader::attribute(uint64_t object, std::string_view name) const {
  auto type = type_of(object);
  if (!type) return std::unexpected(type.error());
  if (!plausible_pointer(*type)) return fail(ErrorCode::io, "bad type pointer");
  std::vector<uint8_t> t(size_t(std::max(ol_.type_flags, ol_.type_cached_keys) + 8));
  if (auto r = mem_.read(*type, t.data(), t.size()); !r) return std::unexpected(r.error());
  uint64_t flags = field<uint64_t>(t, ol_.type_flags), cached_keys = field<uint64_t>(t, ol_.type_cached_keys);
  if (!(flags & uint64_t(ol_.flag_managed_dict))) return fail(ErrorCode::io, "the object's class has no managed dict");

  // The word before the object (a negative offset): its dict, or in 3.12
  // its values tagged with the low bit.
  auto word = mem_.read_u64(object + uint64_t(ol_.managed_dict));
  if (!word) return std::unexpected(word.error());
  if (ol_.managed_tagged && (*word & 1)) return find(cached_keys, items_of(cached_keys, *word + 1), name);
  if (*word) return find(*word, items(*word), name);
  if (ol_.managed_values != -1) {  // 3.11: the values pointer, one word further
    auto values = mem_.read_u64(object + uint64_t(ol_.managed_values));
    if (!values) return std::unexpected(values.error());
    if (*values) return find(cached_keys, items_of(cached_keys, *values), name);
  }
  if (ol_.inline_values >= 0 && (flags & uint64_t(ol_.flag_inline_values))) {  // 3.13: values after the object
    uint64_t values = object + uint64_t(ol_.inline_values);
    uint8_t valid = 0;
    if (auto r = mem_.read(values + uint64_t(ol_.values_valid), &valid, 1); !r) return std::unexpected(r.error());
    if (valid) return find(cached_keys, items_of(cached_keys, values), name);
  }
  return uint64_t(0);
}

}  // namespace sonde::python
