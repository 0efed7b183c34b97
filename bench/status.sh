#!/usr/bin/env bash
# /api/status throughput and latency under wrk on loopback, and the agent's
# idle RSS. Goals (DESIGN.md §4): over 10,000 req/s on 2 cores, p99 under 5 ms,
# idle RSS under 20 MiB. The peer in the same run is the demo node's own
# Beast health endpoint, a minimal HTTP answer on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 2; }
tmp=$(mktemp -d)
node_port=$(free_port); port=$(free_port)
"$B/demo/sonde-demo-node" --port "$node_port" >"$tmp/node.out" 2>&1 & PIDS+=($!); node=$!
wait_http "http://127.0.0.1:$node_port/api/health"
"$SONDE" agent --rate-limit 0 --pid "$node" --http "127.0.0.1:$port" --socket "$tmp/s.sock" --logs "$tmp/logs" >"$tmp/agent.out" 2>&1 & PIDS+=($!); agent=$!
wait_http "http://127.0.0.1:$port/api/health"
sleep 1
idle=$(rss_kib "$agent")

measure() {  # URL -> "req/s p99_ms"
  wrk -t2 -c16 -d10s --latency "$1" > "$tmp/wrk.out"
  rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$tmp/wrk.out")
  echo "$rps $p99"
}
read -r s_rps s_p99 < <(measure "http://127.0.0.1:$port/api/status")
after=$(rss_kib "$agent")
read -r p_rps p_p99 < <(measure "http://127.0.0.1:$node_port/api/health")
printf "%-44s %12s %10s\n" "endpoint (wrk -t2 -c16 -d10s)" "req/s" "p99 ms"
printf "%-44s %12.0f %10.2f\n" "sonde GET /api/status" "$s_rps" "$s_p99"
printf "%-44s %12.0f %10.2f\n" "peer: demo node GET /api/health (Beast)" "$p_rps" "$p_p99"
python3 - "$s_rps" "$p_rps" "$s_p99" "$idle" "$after" <<'PY'
import sys
s, p, p99, idle, after = map(float, sys.argv[1:])
print(f"ratio sonde/peer throughput: {s/p:.2f}")
print(f"goal >10000 req/s: {'met' if s > 10000 else 'MISSED'} ({s:.0f}); goal p99 <5 ms: {'met' if p99 < 5 else 'MISSED'} ({p99:.2f} ms)")
print(f"agent RSS idle: {idle/1024:.1f} MiB (goal <20 MiB: {'met' if idle < 20*1024 else 'MISSED'}); after the run: {after/1024:.1f} MiB")
PY
rm -rf "$tmp"
