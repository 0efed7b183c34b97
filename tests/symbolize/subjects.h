// Functions of the test executable itself whose names, offsets and lines the
// symbolizer tests check. Each returns the pc of a call it makes (a return
// address, as unwinding gives) and the source line of that call.
#pragma once

#include <cstdint>

namespace sonde_test {

struct Captured {
  uintptr_t pc = 0;   // return address of the call, inside the function
  int line = 0;       // line of that call
  int call_line = 0;  // for inlined code: the line that called the inlined function
};

namespace deep {
template <class T>
struct Box {
  static Captured get(T value);
};
}  // namespace deep

// Calls an always_inline function that captures: the pc is in inlined code.
Captured call_inlined();

}  // namespace sonde_test

// A plain C symbol.
extern "C" sonde_test::Captured subject_c_function(int x);
