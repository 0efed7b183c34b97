/* Prints the object-model offsets sonde reads to find thread names in a
 * CPython 3.11, 3.12 or 3.13 process (sys.modules -> threading._active ->
 * each Thread's _name) as one C++ initializer of
 * sonde::python::PyObjectLayout (agent/python/py_object_layout.h). Compiled
 * by gen.sh against each version's own headers with Py_BUILD_CORE: the
 * offsets are facts of those headers. _Py_DebugOffsets (3.13) does not cover
 * dict internals, so 3.13 is generated here too. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_dict.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_object.h"

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030E0000
#error "objects.c is for 3.11, 3.12 and 3.13"
#endif

#define F(name, value) printf("    .%s = %ld,\n", name, (long)(value))

int main(void) {
  printf("  // CPython %s (headers of %s)\n", PY_VERSION, HEADERS_FROM);
  printf("  PyObjectLayout{\n");
  F("major", PY_MAJOR_VERSION);
  F("minor", PY_MINOR_VERSION);
#if PY_VERSION_HEX < 0x030C0000
  F("interp_modules", offsetof(PyInterpreterState, modules));
#else
  F("interp_modules", offsetof(PyInterpreterState, imports.modules));
#endif
  F("module_dict", offsetof(PyModuleObject, md_dict));
  F("type_flags", offsetof(PyTypeObject, tp_flags));
  F("type_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
  F("dict_keys", offsetof(PyDictObject, ma_keys));
  F("dict_values", offsetof(PyDictObject, ma_values));
  F("keys_log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
  F("keys_kind", offsetof(PyDictKeysObject, dk_kind));
  F("keys_nentries", offsetof(PyDictKeysObject, dk_nentries));
  F("keys_indices", offsetof(PyDictKeysObject, dk_indices));
  F("entry_size", sizeof(PyDictKeyEntry));
  F("entry_hash", offsetof(PyDictKeyEntry, me_hash));
  F("entry_key", offsetof(PyDictKeyEntry, me_key));
  F("entry_value", offsetof(PyDictKeyEntry, me_value));
  F("unicode_entry_size", sizeof(PyDictUnicodeEntry));
  F("unicode_entry_key", offsetof(PyDictUnicodeEntry, me_key));
  F("unicode_entry_value", offsetof(PyDictUnicodeEntry, me_value));
  F("values_values", offsetof(PyDictValues, values));
  F("flag_managed_dict", Py_TPFLAGS_MANAGED_DICT);
#if PY_VERSION_HEX < 0x030C0000
  /* 3.11: a dict pointer and a values pointer before the object. */
  F("managed_dict", MANAGED_DICT_OFFSET);
  F("managed_values", -4 * (long)sizeof(PyObject *));
  F("managed_tagged", 0);
  F("flag_inline_values", 0);
  F("inline_values", -1);
  F("values_valid", -1);
  F("values_capacity", -1);
#elif PY_VERSION_HEX < 0x030D0000
  /* 3.12: one word before the object, a dict or (low bit set) values. */
  F("managed_dict", -3 * (long)sizeof(PyObject *));
  F("managed_values", -1);
  F("managed_tagged", 1);
  F("flag_inline_values", 0);
  F("inline_values", -1);
  F("values_valid", -1);
  F("values_capacity", -1);
#else
  /* 3.13: a dict pointer before the object, the values inline after it. */
  F("managed_dict", MANAGED_DICT_OFFSET);
  F("managed_values", -1);
  F("managed_tagged", 0);
  F("flag_inline_values", Py_TPFLAGS_INLINE_VALUES);
  F("inline_values", sizeof(PyObject));
  F("values_valid", offsetof(PyDictValues, valid));
  F("values_capacity", offsetof(PyDictValues, capacity));
#endif
  printf("  },\n");
  return 0;
}
