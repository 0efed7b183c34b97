// Dicts and instance attributes of a CPython node, read from outside: what
// finding a module in sys.modules, a name in a module and an attribute of an
// object takes. Every count is bounded and every object's type is checked
// where the runtime's type addresses are known; a dict that changes under
// us gives a miss or an error, never another object's value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "memory/remote_memory.h"
#include "python/py_object_layout.h"
#include "python/py_runtime.h"

namespace sonde::python {

struct DictItem {
  uint64_t hash = 0;  // general (non-str) keys only: the stored hash, an int key's value
  uint64_t key = 0, value = 0;
};

// Which key object held a name in a dict (or shared keys) last time, so
// the next lookup compares addresses instead of reading every key's text. A
// key object is an immutable str: found again among the same container's
// keys, it is still that name.
using KeyHints = std::map<std::pair<uint64_t, std::string>, uint64_t>;

class ObjectReader {
 public:
  ObjectReader(const memory::RemoteMemory& mem, const PyRuntime& rt, const PyObjectLayout& ol,
               KeyHints* hints = nullptr)
      : mem_(mem), rt_(rt), ol_(ol), hints_(hints) {}
  // A dict's items with a value (at most kMaxItems). Fails when `dict` is no dict.
  Result<std::vector<DictItem>> items(uint64_t dict) const;
  // dict[key] for a str key: 0 when absent.
  Result<uint64_t> get(uint64_t dict, std::string_view key) const;
  // object.<name> from the object's own attribute values (a class without
  // __slots__, whose instance dict the interpreter manages): 0 when unset.
  Result<uint64_t> attribute(uint64_t object, std::string_view name) const;
  // A module's namespace dict.
  Result<uint64_t> module_dict(uint64_t module) const;

  static constexpr long kMaxItems = 1 << 16;

 private:
  Result<std::vector<DictItem>> items_of(uint64_t keys, uint64_t values) const;
  // `container`: the dict or shared keys the items came from (for the hints).
  Result<uint64_t> find(uint64_t container, const Result<std::vector<DictItem>>& items, std::string_view key) const;
  Result<uint64_t> type_of(uint64_t object) const;
  const memory::RemoteMemory& mem_;
  const PyRuntime& rt_;
  const PyObjectLayout& ol_;
  KeyHints* hints_;
};

}  // namespace sonde::python
