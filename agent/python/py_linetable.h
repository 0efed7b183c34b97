// The line of an instruction from a 3.11+ code object's co_linetable (the
// "location table" of Objects/locations.md in CPython): entries of a start
// byte (bit 7 set; bits 3-6 a code; bits 0-2 the number of code units - 1)
// and, depending on the code, varint operands. Only the line matters here.
#pragma once

#include <string_view>

namespace sonde::python {

// The line of the instruction at `byte_offset` into the bytecode, starting
// from `first_line` (co_firstlineno); -1 for an instruction without a line,
// first_line for an offset before the first instruction (a frame not yet
// started), 0 when the table ends before the offset (a corrupt read).
int line_for_offset(std::string_view table, int first_line, long byte_offset);

}  // namespace sonde::python
