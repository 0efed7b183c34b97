// `sonde stacks`: every thread's stack, taken by this process (--pid, one
// shot, like eu-stack) or asked of a running agent. Same output either way.
#include <cstdio>
#include <fstream>
#include <memory>

#include "aggregate/stack_dumper.h"
#include "cli/client_target.h"
#include "cli/commands.h"
#include "protocol/routes.h"
#include "render/stack_renderer.h"

namespace sonde::cli {

namespace {
struct StacksArgs {
  ClientTarget target;
  std::string format = "text";
  bool consistent = false;
  bool no_lines = false;
  bool python_only = false, native_only = false;
  std::string output = "-";
};

int write_output(const std::string& path, const std::string& data) {
  if (path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    return 0;
  }
  std::ofstream out(path, std::ios::binary);
  out << data;
  if (!out) {
    std::fprintf(stderr, "sonde stacks: cannot write %s\n", path.c_str());
    return exit_failure;
  }
  return 0;
}
}  // namespace

Runner add_stacks_command(CLI::App& app) {
  auto* sub = app.add_subcommand("stacks", "every thread's stack (as GET /api/status/stacktrace)");
  auto args = std::make_shared<StacksArgs>();
  args->target.add_flags(sub);
  sub->add_option("--format", args->format, "text (like eu-stack), json or html")
      ->check(CLI::IsMember(render::stack_formats()));
  sub->add_flag("--consistent", args->consistent, "stop all threads at once for a point-in-time picture");
  sub->add_option("-o,--output", args->output, "write to this file (- for stdout)");
  sub->add_flag("--no-lines", args->no_lines,
                "--pid only: function names without file:line or inlined frames (reads no DWARF: faster cold)");
  sub->add_flag("--python-only", args->python_only,
                "CPython nodes: Python frames alone, threads with a Python thread state only (like py-spy dump)");
  sub->add_flag("--native-only", args->native_only,
                "CPython nodes: native frames only (the interpreter loop as _PyEval_EvalFrameDefault)");
  return [args]() -> int {
    if (auto r = args->target.check(); !r) return report_error("stacks", r.error());
    if (args->python_only && args->native_only)
      return report_error("stacks", Error{ErrorCode::bad_request, "--python-only and --native-only exclude each other"});
    if (args->target.local()) {
      symbolize::SymbolizerOptions symbols;
      symbols.source_lines = !args->no_lines;
      aggregate::StackDumper dumper(symbols);
      aggregate::DumpOptions opts;
      opts.consistent = args->consistent;
      opts.python_only = args->python_only;
      opts.native_only = args->native_only;
      auto dump = dumper.dump(args->target.pid, opts);
      if (!dump) return report_error("stacks", dump.error());
      return write_output(args->output, render::stack_renderer(args->format)->render(*dump));
    }
    auto ep = args->target.endpoint();
    if (!ep) return report_error("stacks", ep.error());
    std::string target = std::string(protocol::routes::stacktrace) + "?format=" + args->format +
                         (args->consistent ? "&consistent=true" : "") +
                         (args->python_only ? "&python_only=true" : "") + (args->native_only ? "&native_only=true" : "");
    auto res = client::request(*ep, "GET", target);
    if (!res) return report_error("stacks", res.error());
    if (res->status != 200) {
      std::fprintf(stderr, "sonde stacks: the agent answered %d: %s", res->status, res->body.c_str());
      return exit_failure;
    }
    return write_output(args->output, res->body);
  };
}

}  // namespace sonde::cli
