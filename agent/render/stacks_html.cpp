// format=html: the seed's stacktrace.html, re-made from outside the node. One
// self-contained page (inline CSS and JS, nothing fetched) that an operator
// opens from a logs folder or an incident bundle, often offline. Threads with
// identical stacks are shown once, so a node with hundreds of pool threads
// stays a short page; a filter box narrows it down by thread or function.
#include <fmt/format.h>

#include <map>

#include "render/stack_renderer.h"

namespace sonde::render {
namespace {

// Everything that came from the node is text, never markup: C++ names carry
// '<', '>' and '&', and a thread may name itself "<script>".
std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string plural(size_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

constexpr const char* kStyle = R"CSS(
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222;background:#fff}
h1{font-size:1.3em;margin:.2em 0 .5em}
table.facts{border-collapse:collapse;margin-bottom:1em}
.facts th{text-align:left;font-weight:normal;color:#666;padding:1px 1.5em 1px 0;vertical-align:top}
.facts td{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
#bar{position:sticky;top:0;background:#f5f5f5;border:1px solid #ddd;padding:.4em .6em;z-index:1}
#filter{width:28em;max-width:60%;font:inherit;padding:2px 4px}
#shown{margin-left:1em;color:#555}
section.group{border:1px solid #ddd;border-radius:4px;margin:1em 0;padding:.4em .8em}
h2{font-size:1em;margin:.2em 0}
h2 .top{font:13px ui-monospace,monospace;color:#444;margin-left:.8em;overflow-wrap:anywhere}
ul.threads{list-style:none;margin:.3em 0;padding:0}
li.t{display:inline-block;margin:0 1.2em .2em 0;white-space:nowrap}
li.t .tid,.dim,.off{color:#888}
summary{cursor:pointer;color:#444}
table.frames{border-collapse:collapse;width:100%;margin-top:.3em;font:12px/1.35 ui-monospace,monospace}
.frames th{text-align:left;font-weight:normal;color:#888;padding:1px 8px}
.frames td{padding:1px 8px;border-top:1px solid #eee;vertical-align:top}
.frames td.i{text-align:right;color:#888;width:2em}
.frames td.fn{overflow-wrap:anywhere}
.tag{font:10px system-ui,sans-serif;background:#eef;border:1px solid #ccd;border-radius:3px;padding:0 3px;margin-left:.5em}
.err{color:#a00}
pre.kernel{font-size:12px;margin:.2em 0 .2em 1em}
[hidden]{display:none!important}
)CSS";

// Filters per thread: a thread stays when its own line (name, tid, state,
// wait) or its group's frames (function names, module paths) contain the text.
// A "#filter=TEXT" fragment pre-fills the box, so a filtered view can be
// linked; the fragment follows the box as it is edited.
constexpr const char* kScript = R"JS(
(function () {
  var box = document.getElementById('filter'), shown = document.getElementById('shown');
  var each = function (root, sel, f) { return [].map.call(root.querySelectorAll(sel), f); };
  var groups = each(document, 'section.group', function (g) {
    return {
      el: g, count: g.querySelector('h2 .n'), list: g.querySelector('details.tl'),
      text: each(g, 'td.fn, td.mod', function (c) { return c.textContent + ' ' + c.title; }).join('\n').toLowerCase(),
      threads: each(g, 'li.t', function (li) { return {el: li, text: li.textContent.toLowerCase()}; })
    };
  });
  var total = groups.reduce(function (s, g) { return s + g.threads.length; }, 0);
  function apply() {
    var q = box.value.trim().toLowerCase(), n = 0;
    groups.forEach(function (g) {
      var all = q === '' || g.text.indexOf(q) >= 0, k = 0, m = g.threads.length;
      g.threads.forEach(function (t) {
        var v = all || t.text.indexOf(q) >= 0;
        t.el.hidden = !v;
        if (v) k++;
      });
      g.el.hidden = k === 0;
      g.count.textContent = (k === m ? '' : k + ' of ') + m + (m === 1 ? ' thread' : ' threads');
      // A long list is collapsed; open it when only some of its threads match.
      if (g.list) g.list.open = k > 0 && k < m;
      n += k;
    });
    shown.textContent = n + ' of ' + total + ' threads shown';
  }
  var m = /(?:^#|&)filter=([^&]*)/.exec(location.hash);
  if (m) box.value = decodeURIComponent(m[1].replace(/\+/g, ' '));
  box.addEventListener('input', function () {
    apply();
    try { history.replaceState(null, '', box.value ? '#filter=' + encodeURIComponent(box.value) : location.pathname); } catch (e) {}
  });
  apply();
})();
)JS";

// Long thread lists (a pool of 200 workers) are collapsed behind their count.
constexpr size_t kOpenListMax = 12;

std::string thread_item(const aggregate::ThreadStack& t) {
  std::string state = !t.state_name.empty() ? t.state_name : t.state != '?' ? std::string(1, t.state) : "";
  std::string facts = state;
  if (!t.wait.empty()) facts += (facts.empty() ? "" : ", ") + t.wait;
  if (t.in_kernel) facts += (facts.empty() ? "" : ", ") + std::string("in a system call");
  std::string tip = fmt::format("cpu {:.2f} s user, {:.2f} s system; stopped {} us", t.cpu_user_s,
                                t.cpu_system_s, t.stopped_us);
  std::string item = fmt::format("<li class=\"t\" title=\"{}\"><b>{}</b> <span class=\"tid\">{}</span> {}",
                                 esc(tip), esc(t.name), t.tid, esc(facts));
  if (!t.python_name.empty()) item += fmt::format(" <span class=\"tag\">python: {}</span>", esc(t.python_name));
  if (!t.complete && t.error.empty()) item += "<span class=\"tag\">unwind incomplete</span>";
  if (t.holds_gil) item += "<span class=\"tag\">holds the GIL</span>";
  return item + "</li>";
}

std::string thread_list(const aggregate::StackGroup& g) {
  std::string items;
  for (const auto* t : g.threads) items += thread_item(*t);
  if (g.threads.size() <= kOpenListMax) return "<ul class=\"threads\">" + items + "</ul>\n";
  return fmt::format("<details class=\"tl\"><summary>{} threads: {}, {}, …</summary><ul class=\"threads\">{}</ul></details>\n",
                     g.threads.size(), esc(g.threads[0]->name), esc(g.threads[1]->name), items);
}

std::string frame_row(size_t index, const aggregate::Frame& f) {
  std::string fn = f.function.empty() ? "??" : esc(f.function);
  if (f.python) fn += "<span class=\"tag\">python</span>";
  // An inlined frame's offset is its caller symbol's, so it is not shown;
  // a Python frame has none.
  if (!f.function.empty() && !f.inlined && !f.python) fn += fmt::format("<span class=\"off\">+{}</span>", f.offset);
  if (f.inlined) fn += "<span class=\"tag\">inlined</span>";
  std::string mod = base_name(f.module);
  std::string mod_tip = mod == f.module ? "" : fmt::format(" title=\"{}\"", esc(f.module));
  std::string src;
  if (f.line > 0 && !f.file.empty()) {
    std::string short_file = base_name(f.file);
    src = fmt::format("<td title=\"{}\">{}:{}</td>", esc(f.file), esc(short_file), f.line);
  } else {
    src = "<td></td>";
  }
  return fmt::format("<tr><td class=\"i\" title=\"0x{:x}\">{}</td><td class=\"fn\">{}</td><td class=\"mod\"{}>{}</td>{}</tr>\n",
                     f.address, index, fn, mod_tip, esc(mod), src);
}

std::string group_section(size_t number, const aggregate::StackGroup& g) {
  const auto& rep = *g.representative;
  std::string top;
  for (const auto& f : rep.frames) {
    if (!f.function.empty()) {
      top = f.function;
      break;
    }
  }
  std::string out = fmt::format("<section class=\"group\" id=\"g{}\">\n<h2><span class=\"n\">{}</span><span class=\"top\">{}</span></h2>\n",
                                number, plural(g.threads.size(), "thread"), esc(top));
  out += thread_list(g);
  if (!rep.error.empty()) return out + "<p class=\"err\">not captured: " + esc(rep.error) + "</p>\n</section>\n";
  if (!rep.kernel_stack.empty()) {
    out += fmt::format("<details><summary>kernel stack of {}</summary><pre class=\"kernel\">", rep.tid);
    for (const auto& k : rep.kernel_stack) out += esc(k) + '\n';
    out += "</pre></details>\n";
  }
  out += "<table class=\"frames\"><tr><th>#</th><th>function</th><th>module</th><th>source</th></tr>\n";
  for (size_t i = 0; i < rep.frames.size(); ++i) out += frame_row(i, rep.frames[i]);
  out += "</table>\n";
  if (rep.frames.empty()) out += "<p class=\"dim\">no frames</p>\n";
  return out + "</section>\n";
}

std::string header(const aggregate::StackDump& dump, size_t group_count) {
  std::string cmdline;
  for (const auto& a : dump.cmdline) cmdline += (cmdline.empty() ? "" : " ") + a;
  std::map<std::string, size_t> states;  // "12 sleeping, 3 running": the first thing to look at
  for (const auto& t : dump.threads) ++states[t.state_name.empty() ? "unknown" : t.state_name];
  std::string state_counts;
  for (const auto& [name, n] : states) state_counts += fmt::format("{}{} {}", state_counts.empty() ? "" : ", ", n, name);
  std::string out = fmt::format("<h1>Stacks of pid {}</h1>\n<table class=\"facts\">\n", dump.pid);
  auto row = [&](const char* k, const std::string& v) {
    if (!v.empty()) out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", k, esc(v));
  };
  row("pid", std::to_string(dump.pid));
  row("exe", dump.exe);
  row("cmdline", cmdline);
  row("captured at", dump.captured_at);
  row("mode", dump.mode);
  row("threads", fmt::format("{} ({}) in {}", dump.threads.size(), state_counts, plural(group_count, "distinct stack")));
  row("capture took", fmt::format("{:.1f} ms", dump.wall_ms));
  if (!dump.python_version.empty()) row("python", "CPython " + dump.python_version);
  row("python frames", dump.python_error);
  return out + "</table>\n";
}

class HtmlStacks final : public StackRenderer {
 public:
  std::string content_type() const override { return "text/html; charset=utf-8"; }

  std::string render(const aggregate::StackDump& dump) const override {
    auto groups = aggregate::group_identical(dump);
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>stacks of pid {}{}</title>\n<style>{}</style></head>\n<body>\n",
        dump.pid, dump.exe.empty() ? "" : " (" + esc(base_name(dump.exe)) + ")", kStyle);
    out += header(dump, groups.size());
    out += fmt::format(
        "<div id=\"bar\"><input id=\"filter\" type=\"search\" placeholder=\"filter by thread, function or module\" "
        "aria-label=\"filter\"><span id=\"shown\">{0} of {0} threads shown</span></div>\n",
        dump.threads.size());
    for (size_t i = 0; i < groups.size(); ++i) out += group_section(i + 1, groups[i]);
    return out + "<script>" + kScript + "</script>\n</body></html>\n";
  }
};

}  // namespace

std::unique_ptr<StackRenderer> make_html_stacks() { return std::make_unique<HtmlStacks>(); }

}  // namespace sonde::render
