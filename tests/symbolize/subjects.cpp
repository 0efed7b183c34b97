// Kept in its own file so the lines below do not move when tests change.
#include "subjects.h"

namespace sonde_test {

// noipa: the compiler must neither inline this nor assume what it returns.
__attribute__((noinline, noipa)) uintptr_t caller_pc() {
  return reinterpret_cast<uintptr_t>(__builtin_return_address(0));
}

namespace deep {
template <class T>
__attribute__((noinline)) Captured Box<T>::get(T value) {
  Captured c;
  c.line = __LINE__ + 1;
  c.pc = caller_pc() + static_cast<uintptr_t>(value) * 0;
  return c;
}
template struct Box<int>;
}  // namespace deep

__attribute__((always_inline)) inline Captured inlined_leaf() {
  Captured c;
  c.line = __LINE__ + 1;
  c.pc = caller_pc();
  return c;
}

__attribute__((noinline)) Captured call_inlined() {
  constexpr int call_line = __LINE__ + 1;
  Captured c = inlined_leaf();
  c.call_line = call_line;
  return c;
}

}  // namespace sonde_test

extern "C" __attribute__((noinline)) sonde_test::Captured subject_c_function(int x) {
  sonde_test::Captured c;
  c.line = __LINE__ + 1;
  c.pc = sonde_test::caller_pc() + static_cast<uintptr_t>(x) * 0;
  return c;
}
