#!/usr/bin/env bash
# The scale model of a PostgreSQL cluster (README "Measured", "Scale-out"): a commit latency is injected in every
# silo's writer, as a database across a network adds, and ingest is measured with 1 and with 4 writer connections,
# on one silo and on two, side by side in one run. Everything runs on this machine, on loopback, with a throwaway
# PostgreSQL (the tests' script starts it).
#   benchmarks/scale-model.sh [LATENCY ms, default 5] [EVENTS, default 40000] [CUSTOMERS, default 10000]
# Prints one line per configuration (events/s, ack p50/p99, errors, CPU per event of the silos and of PostgreSQL)
# and the ratio of 4 connections to 1; first the per-event cost with nothing injected.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
source scripts/lib/ports.sh
source scripts/lib/cpu.sh
require_dotnet

latency_ms=${1:-5}; events=${2:-40000}; customers=${3:-10000}
work=$(mktemp -d /tmp/cxengine-scale.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  bash scripts/lib/test-postgres.sh destroy "$work/postgres" || true
  rm -rf "$work"
}
trap cleanup EXIT

build_release silo/CxEngine.Silo/CxEngine.Silo.csproj benchmarks/CxEngine.LoadTest/CxEngine.LoadTest.csproj
bash scripts/lib/test-postgres.sh start "$work/postgres"
# shellcheck disable=SC1091
source "$work/postgres/env"
psql_bin="$(cat "$work/postgres/bin")/psql"
port=$(cat "$work/postgres/port")

run() { # silos connections latency
  local silos=$1 connections=$2 latency=$3 db="scale_${1}_${2}_${RANDOM}" targets=""
  "$psql_bin" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
  local connection="${CXENGINE_TEST_POSTGRES/Database=postgres/Database=$db}"
  pids=()
  for i in $(seq 1 "$silos"); do
    silo/CxEngine.Silo/bin/Release/net10.0/CxEngine.Silo --urls "http://127.0.0.1:$((50070 + i))" \
      --CxEngine:Storage:Provider=PostgreSql --CxEngine:Storage:ConnectionString="$connection" \
      --CxEngine:Storage:WriterConnections="$connections" --CxEngine:Storage:InjectedCommitLatency="$(printf '00:00:00.%03d' "$latency")" \
      --CxEngine:Cluster:SiloPort=$((11170 + i)) --CxEngine:Cluster:GatewayPort=$((30070 + i)) \
      --CxEngine:Http:Url= --CxEngine:Operator:Url= --Logging:LogLevel:Default=Warning >"$work/silo-$silos-$connections-$latency-$i.log" 2>&1 &
    pids+=($!)
    targets+="${targets:+,}http://127.0.0.1:$((50070 + i))"
    wait_for_port $((50070 + i)) "${pids[-1]}" 60 || { echo "error: silo $i of $silos did not start" >&2; exit 1; }
  done
  # A second silo joins the first's cluster in the seconds after its port opens.
  ((silos > 1)) && sleep 10
  # Warm-up first (activations, prepared statements), then the measured events with the CPU counted around them.
  local load=benchmarks/CxEngine.LoadTest/bin/Release/net10.0/CxEngine.LoadTest label="$silos-$connections-$latency"
  "$load" --target "$targets" --customers "$customers" --events 10000 --warmup 0 --streams 4 --seed 2 --no-ceiling --get-score 0 \
    >"$work/warmup-$label.txt" 2>&1 || true
  local engine_before pg_before engine_after pg_after
  # shellcheck disable=SC2046 # a list of pids
  engine_before=$(cpu_ticks "${pids[@]}"); pg_before=$(cpu_ticks $(postgres_pids))
  "$load" --target "$targets" --customers "$customers" --events "$events" --warmup 0 --streams 4 --no-ceiling --get-score 0 \
    --json "$work/load-$label.json" >"$work/load-$label.txt" 2>&1 || true
  # shellcheck disable=SC2046
  engine_after=$(cpu_ticks "${pids[@]}"); pg_after=$(cpu_ticks $(postgres_pids))
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  python3 - "$work/load-$label.json" "$silos" "$connections" "$latency" "$events" \
    "$((engine_after - engine_before))" "$((pg_after - pg_before))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
silos, connections, latency, events, engine_ticks, pg_ticks, hz = sys.argv[2:9]
lat = d.get("latency_ms", {})
errors = sum(d.get("errors", {}).values())
per_event = lambda ticks: int(ticks) / int(hz) / int(events) * 1e6
print(f"  {silos} silo(s), {connections} writer connection(s), {int(latency)} ms: {d['events_per_second']:>7,.0f} ev/s   "
      f"ack p50 {lat['p50']:7.1f} ms  p99 {lat['p99']:7.1f} ms   errors {errors}   "
      f"CPU per event: engine {per_event(engine_ticks):.0f} us, PostgreSQL {per_event(pg_ticks):.0f} us")
PY
  # Why, when events were answered UNAVAILABLE: the silos' distinct exceptions.
  grep -h "Exception" "$work"/silo-"$silos-$connections-$latency"-*.log | sed 's/^ *//' | sort | uniq -c | sort -rn | head -3 | sed 's/^/      /' || true
}

echo "scale model: PostgreSQL $("$(cat "$work/postgres/bin")/postgres" --version | awk '{print $3}'), $events events over" \
  "$customers customers, 4 streams (8,192 events in flight), $(nproc) cores shared by everything"
echo "the per-event cost, nothing injected:"
run 1 1 0
echo "with ${latency_ms} ms injected per commit:"
for silos in 1 2; do
  for connections in 1 4; do
    run "$silos" "$connections" "$latency_ms"
  done
  python3 - "$work/load-$silos-1-$latency_ms.json" "$work/load-$silos-4-$latency_ms.json" "$silos" <<'PY'
import json, sys
one, four = (json.load(open(f))["events_per_second"] for f in sys.argv[1:3])
print(f"  {sys.argv[3]} silo(s): 4 connections / 1 = {four / one:.2f}x")
PY
done
