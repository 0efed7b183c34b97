#!/usr/bin/env bash
# Python nodes (issue 10), two figures:
#  1. a warm stack dump (Python frames merged) of a 50-thread CPython node,
#     asked of a running agent: the dump's own wall time (wall_ms, median of
#     10) and curl's round trip; `py-spy dump` beside it when installed;
#  2. the node's slowdown while `sonde profile --hz 99` reads its Python
#     frames in the probe, against runs alone before and after (the noise).
# Budgets: dump under 20 ms warm; slowdown at 99 Hz <= 1 %.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT
PY=${PYTHON:-/usr/bin/python3}
WINDOW=${WINDOW:-5}
echo "node: $($PY --version) ($PY)"

# 1. Stack dump: chain.py 48 = 48 sleepers + spinner + main = 50 threads.
$PY tests/python/chain.py 48 >"$tmp/chain.out" 2>&1 &
NODE=$!; PIDS+=("$NODE")
for _ in $(seq 1 200); do grep -q ready "$tmp/chain.out" && break; sleep 0.05; done
port=$(free_port)
"$SONDE" agent --pid "$NODE" --http "127.0.0.1:$port" --socket "$tmp/s.sock" --logs "$tmp/logs" >"$tmp/agent.out" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$port/api/health"
url="http://127.0.0.1:$port/api/status/stacktrace?format=json"
curl -sf "$url" >/dev/null  # cold: symbols, code objects
for i in $(seq 1 10); do
  curl -sf -o "$tmp/d$i.json" -w '%{time_total}\n' "$url" >>"$tmp/curl.times"
done
python3 - "$tmp" <<'PY'
import json, statistics, sys
tmp = sys.argv[1]
docs = [json.load(open(f"{tmp}/d{i}.json")) for i in range(1, 11)]
walls = [d["wall_ms"] for d in docs]
curl = [float(x) * 1000 for x in open(f"{tmp}/curl.times")]
threads = len(docs[0]["threads"])
py = sum(1 for f in docs[0]["threads"][1]["frames"] if f.get("kind") == "python")
stopped = max(t["stopped_us"] for d in docs for t in d["threads"])
print(f"stack dump of {threads} threads, Python {docs[0].get('python_version')}, warm: wall_ms median "
      f"{statistics.median(walls):.1f} (min {min(walls):.1f}, max {max(walls):.1f}); curl round trip median "
      f"{statistics.median(curl):.1f} ms; longest thread stop {stopped} us")
PY
if command -v py-spy >/dev/null; then
  TIMEFORMAT='%R'
  for i in 1 2 3; do { time py-spy dump --pid "$NODE" >/dev/null; } 2>>"$tmp/pyspy.times"; done
  echo "py-spy dump (each run attaches anew): $(sort -n "$tmp/pyspy.times" | sed -n 2p | awk '{printf "%.1f ms median of 3", $1*1000}')"
else
  echo "py-spy is not installed: no side-by-side dump figure"
fi
kill -9 "$NODE"

# 2. Sampling slowdown at 99 Hz.
run_node() {
  local label=$1; shift
  $PY bench/targets/py_throughput.py "$WINDOW" >"$tmp/node.out" &
  NODE=$!; PIDS+=("$NODE")
  for _ in $(seq 1 100); do grep -q ready "$tmp/node.out" && break; sleep 0.05; done
  if [ $# -gt 0 ]; then "$@" >"$tmp/$label.tool.out" 2>&1 || echo "  ($label: exited $?: $(tail -2 "$tmp/$label.tool.out"))"; fi
  wait "$NODE"
  UNITS=$(awk '/units_per_s/ {print $2}' "$tmp/node.out")
}
D=$((WINDOW + 1))
sonde_py() { "$SONDE" profile --pid "$NODE" --seconds "$D" --hz 99 --format json -o "$tmp/p.json"; }
sonde_native() { "$SONDE" profile --pid "$NODE" --seconds "$D" --hz 99 --native-only --format json -o "$tmp/n.json"; }
run_node alone; a1=$UNITS
run_node sonde sonde_py; s=$UNITS
run_node native sonde_native; n=$UNITS
run_node alone; a2=$UNITS
python3 - "$tmp" "$a1" "$a2" "$s" "$n" <<'PY'
import json, sys
tmp, a1, a2, s, n = sys.argv[1], *map(float, sys.argv[2:])
base = (a1 + a2) / 2
p = json.load(open(f"{tmp}/p.json"))
leaf = max([f["total"] for f in p["functions"] if f["name"] == "leaf"] or [0])
print(f"node alone {base:.0f} units/s (alone before/after differ by {abs(a1 - a2) / base * 100:.2f} %: the noise)")
print(f"slowdown at 99 Hz: sonde with Python frames {(base - s) / base * 100:.2f} %, native only {(base - n) / base * 100:.2f} %")
print(f"profile: {p['samples']} samples, {p['dropped']} dropped, {100 * leaf / max(p['samples'], 1):.1f} % name the Python leaf()")
PY
