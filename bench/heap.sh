#!/usr/bin/env bash
# /api/status/heap's work (`sonde heap --pid`, the same report and code) on a
# fat node: bench/targets/heap_node.c, ~1 GiB resident in thousands of
# mappings, glibc with 5 arenas. For each way of reading it: wall time, and
# how long the node was held up: the longest lateness of its 1 ms heartbeat
# thread during the run (a stop of the whole process shows there), and for an
# injected call, how long the one thread that ran it was stopped and away
# from its own code (the agent's own count). Goals (issue 5): the read-only
# walk stops nothing; an injected call stops one thread under 5 ms.
# Peers in the same run: reading smaps alone, gdb reading mp_ or calling
# mallinfo2() (it stops every thread; its call needs to write the thread's
# FPU state, which some sandboxes refuse), and on
# redis-server (jemalloc, ~1 GiB after DEBUG POPULATE) redis's own
# MEMORY MALLOC-STATS (malloc_stats_print run by redis's event loop).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
for tool in cc python3 gdb; do command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }; done
RUNS="${RUNS:-5}"
tmp=$(mktemp -d)
cc -O2 -g -pthread -o "$tmp/heap_node" bench/targets/heap_node.c
"$tmp/heap_node" "$tmp/report" "${HEAP_MIB:-1024}" >"$tmp/node.out" 2>&1 & PIDS+=($!); node=$!
for _ in $(seq 1 600); do grep -q ready "$tmp/node.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$tmp/node.out" || { echo "heap_node did not start" >&2; exit 1; }
mkdir -p "$tmp/empty"

stall() {  # the heartbeat's longest lateness (us) since the previous call
  rm -f "$tmp/report"; kill -USR2 "$1"
  for _ in $(seq 1 200); do [ -s "$tmp/report" ] && break; sleep 0.01; done
  sed -n 's/^max_stall_us=\([0-9]*\).*/\1/p' "$tmp/report"
}
# measure LABEL PID CMD...: RUNS runs; prints median wall ms, median and max
# heartbeat stall ms, and the injected call's stopped/away ms when the command
# prints the heap JSON (median of the runs).
measure() {
  local label=$1 pid=$2; shift 2
  : >"$tmp/runs"
  for _ in $(seq 1 "$RUNS"); do
    [ "$pid" = - ] || stall "$pid" >/dev/null
    local t0 t1 s=0
    t0=$(date +%s%N)
    if ! "$@" >"$tmp/out.json" 2>"$tmp/err"; then
      printf "%-52s failed: %s\n" "$label" "$(tail -n 2 "$tmp/err" | tr '\n' ' ' | head -c 200)"
      [ "$pid" = - ] || stall "$pid" >/dev/null
      return 0
    fi
    t1=$(date +%s%N)
    [ "$pid" = - ] || s=$(stall "$pid")
    python3 - "$tmp/out.json" "$(( (t1 - t0) / 1000 ))" "$s" >>"$tmp/runs" <<'PY'
import json, sys
path, wall_us, stall_us = sys.argv[1], int(sys.argv[2]), int(sys.argv[3] or 0)
stopped = away = calls = ""
try:
    d = json.load(open(path))
    for k in ("jemalloc", "glibc_injected"):
        if k in d:
            c = d[k]["injected_call"]
            stopped, away, calls = c["stopped_ms"], c["away_ms"], c["calls"]
except Exception:
    pass
print(wall_us / 1000, stall_us / 1000, stopped, away, calls)
PY
  done
  python3 - "$label" "$tmp/runs" <<'PY'
import statistics, sys
label, rows = sys.argv[1], [l.split() for l in open(sys.argv[2])]
med = lambda i: statistics.median(float(r[i]) for r in rows)
wall, stall, mx = med(0), med(1), max(float(r[1]) for r in rows)
inj = f"{med(2):8.2f} {med(3):8.2f} {int(float(rows[0][4])):6d}" if len(rows[0]) > 2 else f"{'-':>8} {'-':>8} {'-':>6}"
print(f"{label:<52} {wall:9.1f} {stall:9.2f} {mx:9.2f} {inj}")
PY
}

rss=$(rss_kib "$node"); maps=$(wc -l <"/proc/$node/maps")
echo "glibc node: pid $node, RSS $((rss / 1024)) MiB, $maps mappings, $(ls /proc/$node/task | wc -l) threads; $RUNS runs each, medians"
printf "%-52s %9s %9s %9s %8s %8s %6s\n" "how" "wall ms" "stall ms" "max" "stop ms" "away ms" "calls"
measure "nothing (sleep 0.1: the machine's own noise)" "$node" sleep 0.1
measure "cat /proc/PID/smaps (what any tool reads)" "$node" cat "/proc/$node/smaps"
measure "sonde heap --pid (procfs + read-only glibc walk)" "$node" "$SONDE" heap --pid "$node" --format json
measure "sonde heap --pid --allow-inject, no debug info" "$node" \
  "$SONDE" heap --pid "$node" --format json --allow-inject --debug-dir "$tmp/empty"
measure "peer: gdb -p PID -batch 'print mp_' (stops all)" "$node" gdb -nx -batch -p "$node" -ex 'print mp_'
measure "peer: gdb -p PID -batch 'print mallinfo2()'" "$node" gdb -nx -batch -p "$node" -ex 'print mallinfo2()'

if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --daemonize no \
    --enable-debug-command yes >"$tmp/redis.out" 2>&1 & PIDS+=($!); redis=$!
  for _ in $(seq 1 100); do redis-cli -p "$port" PING 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  redis-cli -p "$port" DEBUG POPULATE "${REDIS_KEYS:-2000000}" key 400 >/dev/null
  sleep 0.5
  rss=$(rss_kib "$redis")
  echo
  echo "redis-server (jemalloc): pid $redis, RSS $((rss / 1024)) MiB, $(wc -l <"/proc/$redis/maps") mappings"
  printf "%-52s %9s %9s %9s %8s %8s %6s\n" "how" "wall ms" "" "" "stop ms" "away ms" "calls"
  measure "sonde heap --pid --allow-inject (mallctl summary)" - "$SONDE" heap --pid "$redis" --format json --allow-inject
  measure "sonde mallocstats --pid --allow-inject (per class)" - sh -c \
    "'$SONDE' mallocstats --pid $redis --allow-inject >'$tmp/ms.txt' 2>&1 && echo '{}'"
  measure "peer: redis-cli MEMORY MALLOC-STATS" - redis-cli -p "$port" MEMORY MALLOC-STATS
  grep -o "injected call on .*" "$tmp/ms.txt" | head -1 | sed 's/^/  mallocstats: /'
  echo "  INFO allocator_allocated: $(redis-cli -p "$port" INFO memory | tr -d '\r' | sed -n 's/^allocator_allocated://p')," \
    "sonde jemalloc allocated: $("$SONDE" heap --pid "$redis" --format json --allow-inject | python3 -c 'import json,sys; print(json.load(sys.stdin)["jemalloc"]["allocated"])')"
fi
rm -rf "$tmp"
