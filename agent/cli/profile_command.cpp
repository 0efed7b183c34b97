// `sonde profile`: a CPU profile of the node, sampled by this process (--pid,
// one shot: eBPF, or ptrace where eBPF is refused) or asked of a running
// agent (GET /api/profile). Same file either way.
//
// Default format pstats: it is the seed's profile format (the files people
// already load with Python's pstats, snakeviz or gprof2dot), and the one the
// background profiles and incident bundles write. -o defaults to the name the
// agent gives the download (EXE-YYYYmmddTHHMMSSZ.pstat), like curl -O -J:
// pstats and pprof are binary and do not belong on a terminal.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "aggregate/cpu_profiler.h"
#include "cli/client_target.h"
#include "cli/commands.h"
#include "protocol/iso_time.h"
#include "protocol/routes.h"
#include "render/profile_renderer.h"
#include "target/node.h"

namespace sonde::cli {

namespace {
struct ProfileArgs {
  ClientTarget target;
  double seconds = 10;
  int hz = 99;
  std::string format = "pstats";
  std::string threads = "all";
  std::string sampler = "auto";
  bool python_only = false, native_only = false;
  std::string output;  // "": the suggested file name; "-": stdout
};

int write_profile(const std::string& path, const std::string& data, bool partial) {
  if (partial) std::fprintf(stderr, "sonde profile: the node exited during the profile; this is a partial profile\n");
  if (path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    return 0;
  }
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) {
    std::fprintf(stderr, "sonde profile: cannot write %s\n", path.c_str());
    return exit_failure;
  }
  std::fprintf(stderr, "sonde profile: wrote %s\n", path.c_str());
  return 0;
}

// The file name out of `attachment; filename="x"`.
std::string disposition_name(const std::string& header) {
  auto at = header.find("filename=");
  if (at == std::string::npos) return "";
  std::string name = header.substr(at + 9);
  if (!name.empty() && name.front() == '"') name = name.substr(1, name.find('"', 1) - 1);
  return std::filesystem::path(name).filename().string();  // never a path the server chose
}

int run_local(const ProfileArgs& a) {
  auto node = target::identify(a.target.pid);
  if (!node) return report_error("profile", node.error());
  aggregate::ProfileRequest rq;
  rq.node = *node;
  rq.seconds = a.seconds;
  rq.hz = a.hz;
  rq.sampler = a.sampler;
  rq.python_only = a.python_only;
  rq.native_only = a.native_only;
  if (a.threads != "all") rq.tid = static_cast<pid_t>(std::stol(a.threads));
  aggregate::CpuProfiler profiler;
  auto lease = profiler.try_acquire();
  aggregate::ProfileRunStats stats;
  auto profile = profiler.run(*lease, rq, &stats);
  if (!profile) return report_error("profile", profile.error());
  if (!stats.python_error.empty()) std::fprintf(stderr, "sonde profile: %s\n", stats.python_error.c_str());
  if (profile->info.sampler == "ptrace")
    std::fprintf(stderr, "sonde profile: sampled with ptrace (eBPF refused or not asked for); see the agent log\n");
  auto renderer = render::profile_renderer(a.format);
  std::string out = a.output;
  if (out.empty())
    out = std::filesystem::path(profile->info.exe).filename().string() + "-" +
          protocol::compact_utc(profile->info.start_time) + renderer->file_extension();
  return write_profile(out, renderer->render(*profile), profile->info.partial);
}
}  // namespace

Runner add_profile_command(CLI::App& app) {
  auto* sub = app.add_subcommand("profile", "a CPU profile of the node (as GET /api/profile)");
  auto args = std::make_shared<ProfileArgs>();
  args->target.add_flags(sub);
  sub->add_option("--seconds", args->seconds, "how long to sample (0 < S <= 600, default 10)")
      ->check(CLI::Range(0.001, 600.0));
  sub->add_option("--hz", args->hz, "samples per second per CPU (1..1000, default 99)")->check(CLI::Range(1, 1000));
  sub->add_option("--format", args->format, "pstats (default), calltree, collapsed, speedscope, pprof, flamegraph, json")
      ->check(CLI::IsMember(render::profile_formats()));
  sub->add_option("--threads", args->threads, "all (default) or one thread id");
  sub->add_option("--sampler", args->sampler, "auto (eBPF, else ptrace), ebpf, or ptrace")
      ->check(CLI::IsMember({"auto", "ebpf", "ptrace"}));
  sub->add_option("-o,--output", args->output, "write to this file (- for stdout; default: EXE-TIME.EXT here)");
  sub->add_flag("--python-only", args->python_only,
                "CPython nodes: Python frames alone, samples of Python threads only (like py-spy record)");
  sub->add_flag("--native-only", args->native_only, "CPython nodes: native frames only");
  return [args]() -> int {
    if (auto r = args->target.check(); !r) return report_error("profile", r.error());
    if (args->python_only && args->native_only) {
      std::fprintf(stderr, "sonde profile: --python-only and --native-only exclude each other\n");
      return exit_usage;
    }
    if (args->threads != "all" && args->threads.find_first_not_of("0123456789") != std::string::npos) {
      std::fprintf(stderr, "sonde profile: --threads must be all or a thread id\n");
      return exit_usage;
    }
    if (args->target.local()) return run_local(*args);
    auto ep = args->target.endpoint();
    if (!ep) return report_error("profile", ep.error());
    char query[256];
    std::snprintf(query, sizeof query, "?seconds=%g&hz=%d&format=%s&threads=%s&sampler=%s%s%s", args->seconds,
                  args->hz, args->format.c_str(), args->threads.c_str(), args->sampler.c_str(),
                  args->python_only ? "&python_only=true" : "", args->native_only ? "&native_only=true" : "");
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(args->seconds * 1000) + 60000);
    auto res = client::request(*ep, "GET", std::string(protocol::routes::profile) + query, "", {}, timeout);
    if (!res) return report_error("profile", res.error());
    if (res->status != 200) {
      std::fprintf(stderr, "sonde profile: the agent answered %d: %s", res->status, res->body.c_str());
      return exit_failure;
    }
    std::string out = args->output;
    if (out.empty()) out = disposition_name(res->headers["content-disposition"]);
    if (out.empty()) out = "profile" + render::profile_renderer(args->format)->file_extension();
    return write_profile(out, res->body, res->headers["x-sonde-partial"] == "true");
  };
}

}  // namespace sonde::cli
