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
# Merged and native-only dumps interleaved, so both see the same machine load.
for i in $(seq 1 10); do
  curl -sf -o "$tmp/d$i.json" -w '%{time_total}\n' "$url" >>"$tmp/curl.times"
  curl -sf -o "$tmp/n$i.json" "$url&native_only=true"
done
python3 - "$tmp" <<'PY'
import json, statistics, sys
tmp = sys.argv[1]
docs = [json.load(open(f"{tmp}/d{i}.json")) for i in range(1, 11)]
native = [json.load(open(f"{tmp}/n{i}.json")) for i in range(1, 11)]
walls = [d["wall_ms"] for d in docs]
nwalls = [d["wall_ms"] for d in native]
curl = [float(x) * 1000 for x in open(f"{tmp}/curl.times")]
threads = len(docs[0]["threads"])
py = sum(1 for t in docs[0]["threads"] for f in t["frames"] if f.get("kind") == "python")
stops = sorted(t["stopped_us"] for d in docs for t in d["threads"])
nstops = sorted(t["stopped_us"] for d in native for t in d["threads"])
print(f"stack dump of {threads} threads ({py} Python frames), Python {docs[0].get('python_version')}, agent warm, median of 10:")
print(f"  merged: wall_ms {statistics.median(walls):.1f} (min {min(walls):.1f}), curl round trip {statistics.median(curl):.1f} ms, "
      f"thread stop median {stops[len(stops) // 2]} us")
print(f"  native only (same run, interleaved): wall_ms {statistics.median(nwalls):.1f} (min {min(nwalls):.1f}), "
      f"thread stop median {nstops[len(nstops) // 2]} us; Python costs x{statistics.median(walls) / statistics.median(nwalls):.2f}")
PY
if command -v py-spy >/dev/null; then
  TIMEFORMAT='%R'
  for i in 1 2 3; do { time py-spy dump --pid "$NODE" >/dev/null; } 2>>"$tmp/pyspy.times"; done
  echo "py-spy dump (each run attaches anew): $(sort -n "$tmp/pyspy.times" | sed -n 2p | awk '{printf "%.1f ms median of 3", $1*1000}')"
else
  echo "py-spy is not installed: no side-by-side dump figure"
fi
kill -9 "$NODE"

# 2. Sampling slowdown at 99 Hz. As in bench/profile.sh, the node runs pinned
# at SCHED_FIFO (root) so that the machine's other load does not drown the figure;
# the probe's own time in the node (probe_cpu_s) is the noise-free figure.
pin=()
if [ "${ISOLATE:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v chrt >/dev/null && command -v taskset >/dev/null; then
  pin=(chrt -f 10 taskset -c "$(($(nproc) - 1))")
  echo "node pinned to CPU $(($(nproc) - 1)) at SCHED_FIFO 10 (ISOLATE=0 to run it as a normal process)"
fi
run_node() {
  local label=$1; shift
  "${pin[@]}" $PY bench/targets/py_throughput.py "$WINDOW" >"$tmp/node.out" &
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
q = json.load(open(f"{tmp}/n.json"))
leaf = max([f["total"] for f in p["functions"] if f["name"] == "leaf"] or [0])
print(f"node alone {base:.0f} units/s (alone before/after differ by {abs(a1 - a2) / base * 100:.2f} %: the noise)")
print(f"slowdown at 99 Hz: sonde with Python frames {(base - s) / base * 100:.2f} %, native only {(base - n) / base * 100:.2f} %")
for name, d in (("with Python frames", p), ("native only", q)):
    if "probe_cpu_s" in d:
        print(f"  probe in the node, {name}: {1e6 * d['probe_cpu_s'] / max(d['samples'], 1):.2f} us per sample, "
              f"{100 * d['probe_cpu_s'] / d['duration_s']:.3f} % of the node's CPU")
print(f"profile: {p['samples']} samples, {p['dropped']} dropped, {100 * leaf / max(p['samples'], 1):.1f} % name the Python leaf()")
PY
