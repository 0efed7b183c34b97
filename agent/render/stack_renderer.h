// One interface for the stack dump formats: html (the seed's stacktrace
// page), json (the contract's schema) and text (like eu-stack). One file per
// format; stack_renderer() picks by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aggregate/stack_dump.h"

namespace sonde::render {

class StackRenderer {
 public:
  virtual ~StackRenderer() = default;
  virtual std::string content_type() const = 0;
  virtual std::string render(const aggregate::StackDump& dump) const = 0;
};

// nullptr for an unknown name.
std::unique_ptr<StackRenderer> stack_renderer(const std::string& format);
std::vector<std::string> stack_formats();  // "html", "json", "text"

std::unique_ptr<StackRenderer> make_html_stacks();
std::unique_ptr<StackRenderer> make_json_stacks();
std::unique_ptr<StackRenderer> make_text_stacks();

}  // namespace sonde::render
