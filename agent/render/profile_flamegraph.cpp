// format=flamegraph: one self-contained HTML page (inline CSS and JS, nothing
// fetched: it is opened from incident bundles, often offline) drawing the
// profile as an icicle graph (root on top, callees below, width = samples).
// The first level under "all" is the threads. Click a frame to zoom into it,
// click an ancestor (or "reset zoom") to go back; the search box (or a
// "#search=TEXT" fragment) highlights matching frames and shows which share
// of the samples they cover, each sample counted once however many matching
// frames it holds; hovering shows function, module, samples and percent.
//
// The data is embedded as JSON (flat arrays, parents before children) inside
// <script type="application/json">, with every '<' written as \u003c so a
// name like "</script>" cannot end the element; the page puts names into the
// DOM only as textContent, never as markup. Frames are DOM elements (not a
// canvas), so the names are real text: searchable with Ctrl-F, and readable
// by the tests' headless browser.
#include <fmt/format.h>

#include "render/json_writer.h"
#include "render/profile_renderer.h"
#include "protocol/iso_time.h"

namespace sonde::render {
namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char c : profile_text::valid_utf8(s)) {
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

constexpr const char* kStyle = R"CSS(
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222;background:#fff}
h1{font-size:1.3em;margin:.2em 0}
.meta{color:#555;margin-bottom:.6em;overflow-wrap:anywhere}
#bar{position:sticky;top:0;background:#f5f5f5;border:1px solid #ddd;padding:.4em .6em;z-index:2}
#search{width:24em;max-width:50%;font:inherit;padding:2px 4px}
#matched{margin-left:1em;color:#555}
#reset{margin-left:1em}
#chart{position:relative;margin-top:.6em;width:100%}
.fr{position:absolute;height:17px;box-sizing:border-box;border:1px solid #fff;border-width:0 1px 1px 0;
  font:12px/16px ui-monospace,monospace;padding:0 3px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;cursor:pointer}
.fr.anc{opacity:.55}
.fr.hit{background:#c4f!important;color:#fff}
#tip{position:fixed;display:none;pointer-events:none;background:#fffbe6;border:1px solid #bbb;border-radius:3px;
  padding:4px 7px;font:12px/1.4 ui-monospace,monospace;max-width:60em;overflow-wrap:anywhere;z-index:3}
.hint{color:#888;font-size:12px;margin-left:1em}
)CSS";

constexpr const char* kScript = R"JS(
(function () {
  var D = JSON.parse(document.getElementById('data').textContent);
  var N = D.p.length, kids = [], depth = [0], maxDepth = 0;
  for (var i = 0; i < N; i++) kids.push([]);
  for (i = 1; i < N; i++) {
    kids[D.p[i]].push(i);
    depth.push(depth[D.p[i]] + 1);
  }
  function name(n) { return D.f[n] < 0 ? 'all' : D.names[D.f[n]]; }
  function module(n) { return D.f[n] < 0 ? '' : D.mods[D.f[n]]; }
  kids.forEach(function (k) { k.sort(function (a, b) { var x = name(a), y = name(b); return x < y ? -1 : x > y ? 1 : 0; }); });

  var chart = document.getElementById('chart'), tip = document.getElementById('tip');
  var box = document.getElementById('search'), matched = document.getElementById('matched');
  var zoom = 0, query = '', rowH = 17;

  function hit(n) { return query !== '' && n !== 0 && name(n).toLowerCase().indexOf(query) >= 0; }
  function color(n) {
    if (D.f[n] < 0) return '#ddd';
    if (D.f[n] >= D.threads) return '#9cd';  // thread rows
    var s = name(n), h = 0;
    for (var k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) >>> 0;
    return 'hsl(' + (10 + h % 40) + ',' + (70 + h % 25) + '%,' + (60 + (h >> 8) % 15) + '%)';
  }
  function frame(n, x, w, d, ancestor) {
    var el = document.createElement('div');
    el.className = 'fr' + (ancestor ? ' anc' : '') + (hit(n) ? ' hit' : '');
    el.style.left = (x * 100) + '%';
    el.style.width = (w * 100) + '%';
    el.style.top = (d * rowH) + 'px';
    el.style.background = color(n);
    el.textContent = name(n);
    el.setAttribute('data-i', n);
    chart.appendChild(el);
    if (d > maxDepth) maxDepth = d;
  }
  function render() {
    chart.textContent = '';
    maxDepth = 0;
    var line = [], a;
    for (a = zoom; a !== 0; a = D.p[a]) line.unshift(a);
    line.unshift(0);
    line.forEach(function (n, d) { frame(n, 0, 1, d, n !== zoom); });
    var base = line.length - 1, total = D.v[zoom] || 1;
    var minW = 0.5 / Math.max(chart.clientWidth, 100);  // narrower than half a pixel: not drawn
    var todo = [[zoom, 0]];
    while (todo.length) {
      var e = todo.pop(), n = e[0], x = e[1];
      if (n !== zoom) frame(n, x, D.v[n] / total, base + depth[n] - depth[zoom], false);
      kids[n].forEach(function (c) {
        var w = D.v[c] / total;
        if (w >= minW) todo.push([c, x]);
        x += w;
      });
    }
    chart.style.height = ((maxDepth + 1) * rowH + 4) + 'px';
  }
  function pct(v, of) { return (of ? 100 * v / of : 0).toFixed(1) + '%'; }
  // The share of samples under a matching frame: a match's own subtree is not
  // searched further, so nested matches (recursion) never count twice.
  function updateMatched() {
    if (query === '') { matched.textContent = ''; return; }
    var sum = 0, frames = 0, todo = [0];
    while (todo.length) {
      var n = todo.pop();
      if (hit(n)) { sum += D.v[n]; frames++; continue; }
      kids[n].forEach(function (c) { todo.push(c); });
    }
    matched.textContent = 'matched: ' + pct(sum, D.v[0]) + ' (' + sum + ' of ' + D.v[0] + ' samples)';
  }
  function apply() {
    query = box.value.trim().toLowerCase();
    render();
    updateMatched();
  }
  chart.addEventListener('click', function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute('data-i');
    if (i === null || i === undefined) return;
    zoom = +i;
    render();
  });
  chart.addEventListener('mousemove', function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute('data-i');
    if (i === null || i === undefined) { tip.style.display = 'none'; return; }
    var n = +i, mod = module(n);
    tip.textContent = name(n) + (mod ? '\n' + mod : '') + '\n' + D.v[n] + ' samples (' + pct(D.v[n], D.v[0]) +
        (zoom ? ', ' + pct(D.v[n], D.v[zoom]) + ' of the zoomed frame' : '') + '), self ' + D.s[n];
    tip.style.whiteSpace = 'pre-wrap';
    tip.style.display = 'block';
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 4) + 'px';
    tip.style.top = (ev.clientY + 14) + 'px';
  });
  chart.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  document.getElementById('reset').addEventListener('click', function () { zoom = 0; render(); });
  var m = /(?:^#|&)search=([^&]*)/.exec(location.hash);
  if (m) box.value = decodeURIComponent(m[1].replace(/\+/g, ' '));
  box.addEventListener('input', function () {
    apply();
    try { history.replaceState(null, '', box.value ? '#search=' + encodeURIComponent(box.value) : location.pathname); } catch (e) {}
  });
  window.addEventListener('resize', render);
  apply();
})();
)JS";

// Flat arrays, parents before children: f (name index, -1 for the root),
// p (parent), v (total samples), s (self samples); names/mods per name index,
// the functions first and the threads from index `threads` on.
std::string data_json(const aggregate::Profile& p) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  std::vector<int64_t> f{-1}, parent{0};
  std::vector<uint64_t> total{p.info.samples}, self{0};
  uint64_t all = 0;
  for (size_t t = 0; t < p.threads.size(); ++t) {
    const auto& nodes = p.threads[t].trie.nodes();
    std::vector<int64_t> at(nodes.size());
    // Trie nodes are created after their parents, so index order is parents first.
    for (size_t i = 0; i < nodes.size(); ++i) {
      at[i] = int64_t(f.size());
      f.push_back(i == 0 ? int64_t(p.functions.size() + t) : int64_t(nodes[i].function));
      parent.push_back(i == 0 ? 0 : at[nodes[i].parent]);
      total.push_back(nodes[i].total);
      self.push_back(nodes[i].self);
    }
    all += nodes[0].total;
  }
  total[0] = all;
  w.StartObject();
  auto ints = [&](const char* key, const auto& values) {
    w.Key(key);
    w.StartArray();
    for (auto v : values) w.Int64(int64_t(v));
    w.EndArray();
  };
  ints("f", f);
  ints("p", parent);
  ints("v", total);
  ints("s", self);
  w.Key("threads");
  w.Uint64(p.functions.size());
  w.Key("names");
  w.StartArray();
  for (uint32_t i = 0; i < p.functions.size(); ++i) json_string(w, p.label(i));
  for (const auto& t : p.threads) json_string(w, "thread " + t.label());
  w.EndArray();
  w.Key("mods");
  w.StartArray();
  for (const auto& fn : p.functions) json_string(w, fn.module);
  for (size_t t = 0; t < p.threads.size(); ++t) json_string(w, "");
  w.EndArray();
  w.EndObject();
  std::string json;
  for (const char* c = buf.GetString(); *c; ++c) {
    if (*c == '<') json += "\\u003c";
    else json += *c;
  }
  return json;
}

class FlamegraphProfile final : public ProfileRenderer {
 public:
  std::string content_type() const override { return "text/html; charset=utf-8"; }
  std::string file_extension() const override { return ".html"; }

  std::string render(const aggregate::Profile& p) const override {
    const auto& info = p.info;
    std::string title = fmt::format("CPU profile of pid {}", info.pid);
    std::string meta = fmt::format("{} samples at {} Hz over {:.1f} s ({} sampler", info.samples, info.hz,
                                   info.duration_s, info.sampler.empty() ? "unknown" : info.sampler);
    if (info.dropped) meta += fmt::format(", {} dropped", info.dropped);
    meta += fmt::format("), threads: {}", info.threads);
    if (info.start_time > 0) meta += ", started " + protocol::iso_utc(info.start_time);
    if (info.partial) meta += "; partial: the node exited during the profile";
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + esc(title) + "</title>\n<style>" + kStyle + "</style>\n</head><body>\n";
    out += "<h1>" + esc(title) + (info.exe.empty() ? "" : " <small>" + esc(info.exe) + "</small>") + "</h1>\n";
    out += "<div class=\"meta\">" + esc(meta) + "</div>\n";
    out += "<div id=\"bar\"><input id=\"search\" type=\"search\" placeholder=\"search functions\" autocomplete=\"off\">"
           "<button id=\"reset\" type=\"button\">reset zoom</button><span id=\"matched\"></span>"
           "<span class=\"hint\">click a frame to zoom; hover for counts</span></div>\n";
    out += "<div id=\"chart\"></div>\n<div id=\"tip\"></div>\n";
    out += "<script type=\"application/json\" id=\"data\">" + data_json(p) + "</script>\n";
    out += std::string("<script>") + kScript + "</script>\n</body></html>\n";
    return out;
  }
};

}  // namespace

std::unique_ptr<ProfileRenderer> make_flamegraph_profile() { return std::make_unique<FlamegraphProfile>(); }

}  // namespace sonde::render
