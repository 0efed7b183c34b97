// `sonde heap` and `sonde mallocstats`: where the node's memory goes, read
// by this process (--pid, one shot) or asked of a running agent (--socket,
// --url). Same text either way: both call the same report and renderers.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/client_target.h"
#include "cli/commands.h"
#include "memory/heap_render.h"
#include "memory/heap_report.h"
#include "protocol/routes.h"

namespace sonde::cli {

namespace {

struct MemoryArgs {
  ClientTarget target;
  std::string format = "text";
  std::vector<std::string> debug_dirs;  // empty: the default (/usr/lib/debug)
  size_t top = 20;
  bool allow_inject = false;
};

void add_inject_flag(CLI::App* sub, MemoryArgs& a) {
  sub->add_flag("--allow-inject", a.allow_inject,
                "with --pid: read jemalloc's figures (mallctl) or glibc's mallinfo2() without debug info by an "
                "injected call, run on one waiting thread of the node (an agent uses its own --allow-inject)");
}

memory::InjectOptions inject_options(const MemoryArgs& a) {
  memory::InjectOptions o;
  o.allowed = a.allow_inject;
  return o;
}

void add_debug_dir_flag(CLI::App* sub, MemoryArgs& a) {
  sub->add_option("--debug-dir", a.debug_dirs,
                  "where to look for libc's debug file (repeatable; default /usr/lib/debug); with --pid only");
}

memory::GlibcOptions glibc_options(const MemoryArgs& a) {
  memory::GlibcOptions o;
  if (!a.debug_dirs.empty()) o.debug_dirs = a.debug_dirs;
  return o;
}

// One shot: stdout carries the answer only; what the work logs (an injected
// call's line) goes to stderr.
void log_to_stderr() { spdlog::set_default_logger(spdlog::stderr_color_st("sonde-memory")); }

int print(const std::string& body) {
  std::fwrite(body.data(), 1, body.size(), stdout);
  return 0;
}

int ask_agent(const char* cmd, const ClientTarget& t, const std::string& target) {
  auto ep = t.endpoint();
  if (!ep) return report_error(cmd, ep.error());
  auto res = client::request(*ep, "GET", target);
  if (!res) return report_error(cmd, res.error());
  if (res->status != 200) {
    std::fprintf(stderr, "sonde %s: the agent answered %d: %s\n", cmd, res->status, res->body.c_str());
    return exit_failure;
  }
  return print(res->body);
}

}  // namespace

Runner add_heap_command(CLI::App& app) {
  auto* sub = app.add_subcommand("heap", "where the node's memory goes (as GET /api/status/heap)");
  auto args = std::make_shared<MemoryArgs>();
  args->target.add_flags(sub);
  sub->add_option("--format", args->format, "text (the seed's shape) or json")->check(CLI::IsMember({"text", "json"}));
  sub->add_option("--top", args->top, "mappings listed under Top mappings (with --pid)");
  add_debug_dir_flag(sub, *args);
  add_inject_flag(sub, *args);
  return [args]() -> int {
    if (auto r = args->target.check(); !r) return report_error("heap", r.error());
    if (!args->target.local())
      return ask_agent("heap", args->target, std::string(protocol::routes::heap) + "?format=" + args->format);
    log_to_stderr();
    memory::HeapOptions opts;
    opts.glibc = glibc_options(*args);
    opts.top = args->top;
    opts.inject = inject_options(*args);
    auto report = memory::build_heap_report(args->target.pid, opts);
    if (!report) return report_error("heap", report.error());
    return print(args->format == "json" ? memory::render_heap_json(*report) + "\n" : memory::render_heap_text(*report));
  };
}

Runner add_mallocstats_command(CLI::App& app) {
  auto* sub = app.add_subcommand("mallocstats",
                                 "the allocator's per-arena and per-bin table (as GET /api/status/debugmallocstats)");
  auto args = std::make_shared<MemoryArgs>();
  args->target.add_flags(sub);
  add_debug_dir_flag(sub, *args);
  add_inject_flag(sub, *args);
  return [args]() -> int {
    if (auto r = args->target.check(); !r) return report_error("mallocstats", r.error());
    if (!args->target.local()) return ask_agent("mallocstats", args->target, protocol::routes::mallocstats);
    log_to_stderr();
    auto stats = memory::build_malloc_stats(args->target.pid, glibc_options(*args), inject_options(*args));
    if (!stats) return report_error("mallocstats", stats.error());
    return print(memory::render_malloc_stats_text(*stats));
  };
}

}  // namespace sonde::cli
