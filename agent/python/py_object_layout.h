// Where CPython keeps modules, dicts and instance attributes: what reading
// threading._active and a Thread's _name takes (python/py_thread_names.h).
// Generated for 3.11, 3.12 and 3.13 from each version's headers
// (tools/python_offsets/objects.c -> py_object_table.inc): _Py_DebugOffsets
// does not describe dict internals. -1 marks a field the version lacks.
#pragma once

namespace sonde::python {

struct PyObjectLayout {
  long major = 0, minor = 0;
  long interp_modules = -1;       // sys.modules of an interpreter
  long module_dict = -1;          // PyModuleObject.md_dict
  long type_flags = -1;           // PyTypeObject.tp_flags
  long type_cached_keys = -1;     // PyHeapTypeObject.ht_cached_keys: the shared keys of instance dicts
  long dict_keys = -1, dict_values = -1;  // PyDictObject.ma_keys, .ma_values (non-null: split table)
  long keys_log2_index_bytes = -1, keys_kind = -1, keys_nentries = -1, keys_indices = -1;
  long entry_size = -1, entry_hash = -1, entry_key = -1, entry_value = -1;  // general keys
  long unicode_entry_size = -1, unicode_entry_key = -1, unicode_entry_value = -1;  // str-only keys
  long values_values = -1;        // PyDictValues.values[0]
  long flag_managed_dict = 0;     // Py_TPFLAGS_MANAGED_DICT
  long managed_dict = -1;         // from the object: its dict pointer (3.12: dict or tagged values)
  long managed_values = -1;       // 3.11: its values pointer
  long managed_tagged = 0;        // 3.12: the word at managed_dict is values + 1 when its low bit is set
  long flag_inline_values = 0;    // 3.13: Py_TPFLAGS_INLINE_VALUES
  long inline_values = -1;        // 3.13: the values right after the object
  long values_valid = -1;         // 3.13: PyDictValues.valid
  long values_capacity = -1;      // 3.13: PyDictValues.capacity; before: the byte before the
                                  // values is the prefix size, capacity + 2 rounded up to 8
};

// The generated entry for 3.11, 3.12 or 3.13, or null.
const PyObjectLayout* object_layout(long major, long minor);

}  // namespace sonde::python
