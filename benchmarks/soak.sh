#!/usr/bin/env bash
# A soak: the engine in its default configuration (SQLite, acknowledged after commit) at a fixed rate for a
# fixed time, with its memory and database size every 30 s.
#   benchmarks/soak.sh [RATE events/s, default 6000] [MINUTES, default 15] [CUSTOMERS, default 100000]
# Prints a table and then the load tool's summary (ack p50/p90/p99/p99.9). Everything runs on this machine, on loopback.
# The table: the resident set, split into anonymous memory (the process's own: managed heap, SQLite's page cache) and
# file-backed pages (the database file SQLite maps, which the kernel may reclaim); the managed heap after the last GC;
# the database + WAL size; events applied; open recovery actions (raised + reopened - recovered - resolved, from the
# engine's counters: each holds its reasons in memory, so resident data follows the customers at risk).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
source scripts/lib/ports.sh
require_dotnet

rate=${1:-6000}; minutes=${2:-15}; customers=${3:-100000}
events=$((rate * minutes * 60))
port=${SOAK_PORT:-50071}; metrics_port=${SOAK_METRICS_PORT:-19471}
work=$(mktemp -d /tmp/cxengine-soak.XXXXXX)
trap 'if [[ -n "${engine:-}" ]]; then kill "$engine" 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$work"' EXIT

build_release silo/CxEngine.Silo/CxEngine.Silo.csproj benchmarks/CxEngine.LoadTest/CxEngine.LoadTest.csproj

silo/CxEngine.Silo/bin/Release/net10.0/CxEngine.Silo --urls "http://127.0.0.1:$port" \
  --CxEngine:Storage:DataDirectory="$work/data" --CxEngine:Operator:Url="http://127.0.0.1:$metrics_port" --CxEngine:Http:Url= \
  --CxEngine:Cluster:SiloPort=21171 --CxEngine:Cluster:GatewayPort=31071 \
  --Logging:LogLevel:Default=Warning >"$work/engine.log" 2>&1 &
engine=$!
wait_for_port "$port" "$engine" 60 || { cat "$work/engine.log" >&2; echo "error: the engine did not start" >&2; exit 1; }

benchmarks/CxEngine.LoadTest/bin/Release/net10.0/CxEngine.LoadTest --target "http://127.0.0.1:$port" \
  --customers "$customers" --events "$events" --warmup 20000 --rate "$rate" --no-ceiling --get-score 0 \
  --json "$work/load.json" >"$work/load.txt" 2>&1 &
load=$!

printf '%8s %8s %8s %8s %13s %10s %10s %8s\n' "elapsed" "rss MB" "anon MB" "file MB" "heap MB (GC)" "db+wal MB" "events" "open actions"
start=$(date +%s)
while kill -0 "$load" 2>/dev/null; do
  sleep 30
  now=$(( $(date +%s) - start ))
  read -r rss anon file < <(awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {printf "%.0f %.0f %.0f\n", r/1024, a/1024, f/1024}' "/proc/$engine/status" 2>/dev/null || echo "- - -")
  scrape=$(curl -s "http://127.0.0.1:$metrics_port/metrics" || true)
  heap=$(awk '/^dotnet_gc_last_collection_heap_size_bytes/ {s+=$2} END {printf "%.0f", s/1048576}' <<<"$scrape")
  applied=$(awk '/^cx_events_total/ && /status="applied"/ {s+=$2} END {printf "%.0f", s}' <<<"$scrape")
  open=$(awk '/^cx_actions_total/ && /change="(raised|reopened)"/ {s+=$2} /^cx_actions_total/ && /change="(recovered|resolved)"/ {s-=$2} END {printf "%.0f", s}' <<<"$scrape")
  # No database files with --CxEngine:Storage:Provider=None (or Memory): 0, not an exit under pipefail.
  db=$( (du -cm "$work"/data/cxengine.db* 2>/dev/null || true) | tail -1 | cut -f1)
  db=${db:-0}
  printf '%7ss %8s %8s %8s %13s %10s %10s %8s\n' "$now" "$rss" "$anon" "$file" "$heap" "$db" "$applied" "$open"
done
wait "$load" || true
sed -n '/^engine:/,/errors/p' "$work/load.txt"
