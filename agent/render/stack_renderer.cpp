#include "render/stack_renderer.h"

namespace sonde::render {

std::vector<std::string> stack_formats() { return {"html", "json", "text"}; }

std::unique_ptr<StackRenderer> stack_renderer(const std::string& format) {
  if (format == "html") return make_html_stacks();
  if (format == "json") return make_json_stacks();
  if (format == "text") return make_text_stacks();
  return nullptr;
}

}  // namespace sonde::render
