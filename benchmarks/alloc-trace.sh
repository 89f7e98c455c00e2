#!/usr/bin/env bash
# Where the engine allocates and what its collections cost, at full ingest in its default configuration.
#   benchmarks/alloc-trace.sh [CUSTOMERS, default 100000] [EVENTS, default 600000] [SECONDS traced, default 20]
#                             [RATE events/s, default 0 = the maximum] [engine args...]
# Starts the engine as ./scripts/run-engine.sh configures it (fresh data directory), drives it with the load tool at
# RATE (uniform mix), and once a third of the events are in, captures SECONDS of the runtime's GC events
# (dotnet-trace --profile gc-verbose: allocation samples with stacks, collections). Prints:
#   - bytes allocated per event over the capture, exactly (the runtime's allocation counter from /metrics), and
#     the bytes promoted per event and the collections' pauses, from the trace;
#   - the sampled allocations by type, by allocating site and by stack (benchmarks/CxEngine.TraceReport).
# Extra arguments go to the engine (e.g. --CxEngine:Storage:Provider=None). dotnet-trace comes from the
# repository's tool manifest (.config/dotnet-tools.json; `dotnet tool restore` fetches it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
source scripts/lib/ports.sh
require_dotnet

customers=${1:-100000}; events=${2:-600000}; seconds=${3:-20}; rate=${4:-0}
shift $(( $# < 4 ? $# : 4 ))
port=${TRACE_PORT:-50073}; metrics_port=${TRACE_METRICS_PORT:-19473}
work=$(mktemp -d /tmp/cxengine-alloc.XXXXXX)
trap 'for p in ${engine:-} ${load:-}; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [[ -n "${TRACE_KEEP:-}" ]]; then cp "$work/gc.nettrace" "$TRACE_KEEP" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

dotnet tool restore >/dev/null
build_release silo/CxEngine.Silo/CxEngine.Silo.csproj benchmarks/CxEngine.LoadTest/CxEngine.LoadTest.csproj \
  benchmarks/CxEngine.TraceReport/CxEngine.TraceReport.csproj

silo/CxEngine.Silo/bin/Release/net10.0/CxEngine.Silo --urls "http://127.0.0.1:$port" \
  --CxEngine:Storage:DataDirectory="$work/data" --CxEngine:Operator:Url="http://127.0.0.1:$metrics_port" --CxEngine:Http:Url= \
  --CxEngine:Cluster:SiloPort=21173 --CxEngine:Cluster:GatewayPort=31073 \
  --Logging:LogLevel:Default=Warning "$@" >"$work/engine.log" 2>&1 &
engine=$!
wait_for_port "$port" "$engine" 60 || { cat "$work/engine.log" >&2; echo "error: the engine did not start" >&2; exit 1; }

benchmarks/CxEngine.LoadTest/bin/Release/net10.0/CxEngine.LoadTest --target "http://127.0.0.1:$port" \
  --customers "$customers" --events "$events" --warmup 0 --rate "$rate" --no-ceiling --get-score 0 >"$work/load.txt" 2>&1 &
load=$!

# applied events and allocated bytes so far, from the engine's /metrics
counters() {
  curl -s "http://127.0.0.1:$metrics_port/metrics" | awk '
    /^cx_events_total/ && /status="applied"/ {e+=$2}
    /^dotnet_gc_heap_total_allocated_bytes_total/ {a+=$2}
    END {printf "%.0f %.0f\n", e, a}'
}

until read -r applied _ < <(counters) && (( applied >= events / 3 )); do
  kill -0 "$load" 2>/dev/null || { cat "$work/load.txt" >&2; echo "error: the load ended before a third of the events" >&2; exit 1; }
  sleep 1
done
read -r e0 a0 < <(counters)
dotnet tool run dotnet-trace collect -p "$engine" --profile gc-verbose \
  --duration "$(printf '00:%02d:%02d:%02d' $((seconds / 3600)) $((seconds / 60 % 60)) $((seconds % 60)))" \
  -o "$work/gc.nettrace" >"$work/trace.txt" 2>&1
read -r e1 a1 < <(counters)
kill "$load" 2>/dev/null || true

taken=$((e1 - e0))
(( taken > 0 )) || { cat "$work/trace.txt" "$work/load.txt" >&2; echo "error: no events were applied while tracing" >&2; exit 1; }
echo "engine args: ${*:-(default)}; $customers customers; traced ${seconds} s at $( ((rate > 0)) && echo "$rate events/s" || echo "full load")"
awk -v e="$taken" -v a="$((a1 - a0))" -v s="$seconds" 'BEGIN {
  printf "events applied while traced: %d (%.0f ev/s); allocated %.0f MB = %.0f bytes per event (runtime counter)\n", e, e / s, a / 1048576, a / e }'
benchmarks/CxEngine.TraceReport/bin/Release/net10.0/CxEngine.TraceReport "$work/gc.nettrace" --events "$taken" --top "${TRACE_TOP:-25}" ${TRACE_TYPE:+--type "$TRACE_TYPE"}
