#include "python/py_object_layout.h"

namespace sonde::python {

namespace {

const PyObjectLayout kTable[] = {
#include "python/py_object_table.inc"
};

}  // namespace

const PyObjectLayout* object_layout(long major, long minor) {
  for (const auto& l : kTable)
    if (l.major == major && l.minor == minor) return &l;
  return nullptr;
}

}  // namespace sonde::python
