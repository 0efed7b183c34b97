#!/usr/bin/env bash
# The API profiler proxy's overhead (issue 8): wrk against the demo node's
# GET /api/health (an answer that costs the node nothing: the proxy's hop is
# all there is) and GET /demo/work?ms=1 (a call that costs 1 ms of CPU)
# directly, then through `sonde agent --proxy`, then /api/health through the
# proxy with --enable-api-profiler sampling 1 call in 10 (written into a
# temporary logs folder). Prints req/s, p50 and p99 and the ratios to direct.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 2; }
tmp=$(mktemp -d)
node_port=$(free_port)
"$B/demo/sonde-demo-node" --port "$node_port" >"$tmp/node.out" 2>&1 & PIDS+=($!); node=$!
wait_http "http://127.0.0.1:$node_port/api/health"

start_agent() {  # NAME PROXY_PORT EXTRA... -> the agent's pid in $agent
  local name=$1 pport=$2; shift 2
  "$SONDE" agent --pid "$node" --http off --socket "$tmp/$name.sock" --logs "$tmp/$name-logs" \
    --proxy "127.0.0.1:$pport=127.0.0.1:$node_port" "$@" >"$tmp/$name.out" 2>&1 & PIDS+=($!); agent=$!
  wait_http "http://127.0.0.1:$pport/api/health"
}
measure() {  # URL -> "req/s p50_ms p99_ms"
  wrk -t2 -c16 -d10s --latency "$1" > "$tmp/wrk.out"
  rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.out")
  ms() { awk -v q="$1" '$1==q {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$tmp/wrk.out"; }
  echo "$rps $(ms 50%) $(ms 99%)"
}

read -r d_rps d_p50 d_p99 < <(measure "http://127.0.0.1:$node_port/api/health")
read -r dw_rps dw_p50 dw_p99 < <(measure "http://127.0.0.1:$node_port/demo/work?ms=1")
p1=$(free_port); start_agent plain "$p1"
read -r p_rps p_p50 p_p99 < <(measure "http://127.0.0.1:$p1/api/health")
read -r pw_rps pw_p50 pw_p99 < <(measure "http://127.0.0.1:$p1/demo/work?ms=1")
kill "$agent"; wait "$agent" 2>/dev/null || true
p2=$(free_port); start_agent all "$p2" --enable-api-profiler --api-profiler-rate 0.1
read -r a_rps a_p50 a_p99 < <(measure "http://127.0.0.1:$p2/api/health")
files=$(ls "$tmp/all-logs/api_profiler" 2>/dev/null | wc -l)

printf "%-56s %10s %8s %8s\n" "demo node (wrk -t2 -c16 -d10s)" "req/s" "p50 ms" "p99 ms"
printf "%-56s %10.0f %8.2f %8.2f\n" "GET /api/health direct" "$d_rps" "$d_p50" "$d_p99"
printf "%-56s %10.0f %8.2f %8.2f\n" "GET /api/health through sonde --proxy" "$p_rps" "$p_p50" "$p_p99"
printf "%-56s %10.0f %8.2f %8.2f\n" "GET /api/health through --enable-api-profiler (rate 0.1)" "$a_rps" "$a_p50" "$a_p99"
printf "%-56s %10.0f %8.2f %8.2f\n" "GET /demo/work?ms=1 direct" "$dw_rps" "$dw_p50" "$dw_p99"
printf "%-56s %10.0f %8.2f %8.2f\n" "GET /demo/work?ms=1 through sonde --proxy" "$pw_rps" "$pw_p50" "$pw_p99"
python3 - "$d_rps" "$p_rps" "$a_rps" "$d_p50" "$p_p50" "$a_p50" "$d_p99" "$p_p99" "$a_p99" "$files" \
  "$dw_rps" "$pw_rps" "$dw_p50" "$pw_p50" "$dw_p99" "$pw_p99" <<'PY'
import sys
d, p, a, d50, p50, a50, d99, p99, a99, files, dw, pw, dw50, pw50, dw99, pw99 = map(float, sys.argv[1:])
print(f"ratio proxy/direct, /api/health: throughput {p/d:.2f}, p50 latency {p50/d50:.2f}, p99 latency {p99/d99:.2f}")
print(f"ratio all-calls/direct, /api/health: throughput {a/d:.2f}, p50 latency {a50/d50:.2f}, p99 latency {a99/d99:.2f} "
      f"({files:.0f} profile files kept in api_profiler/)")
print(f"ratio proxy/direct, /demo/work?ms=1: throughput {pw/dw:.2f}, p50 latency {pw50/dw50:.2f}, p99 latency {pw99/dw99:.2f}")
PY
rm -rf "$tmp"
