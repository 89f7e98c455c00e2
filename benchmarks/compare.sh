#!/usr/bin/env bash
# Side by side, the same load against four servers, one alive at a time:
#   ceiling               the load tool's own no-op gRPC server (what gRPC and this machine allow)
#   plain service         benchmarks/CxEngine.PlainService: ASP.NET Core + SQLite written by hand, same contract and formulas
#   engine (no storage)   the engine with --CxEngine:Storage:Provider=None
#   engine (default)      the engine as configured by default (SQLite in a fresh data directory), flags as soak.sh
# then one markdown table per traffic shape (events/s, ack p50/p99/p99.9, errors, ratios to the plain service and ceiling).
#   benchmarks/compare.sh [--customers N] [--events N] [--warmup N] [--streams N] [--seed N]
#                         [--burst K] [--shape uniform|burst|both] [--out DIR] [--no-build]
# --shape both runs the uniform mix and bursts of K (default 4); --out DIR keeps the summaries and tables.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
source scripts/lib/ports.sh
require_dotnet

customers=100000; events=300000; warmup=20000; streams=8; seed=1; burst=""; shape=""; out=""; build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --shape) shape=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
case "$shape" in
  "") bursts=${burst:-1} ;;
  uniform) bursts=1 ;;
  burst) bursts=${burst:-4} ;;
  both) bursts="1 ${burst:-4}" ;;
  *) echo "compare.sh: --shape is uniform, burst or both" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/cxengine-compare.XXXXXX)
server=""; loader=""
cleanup() {
  for pid in $loader $server; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $build == 1 ]]; then
  echo "building (Release): load tool, plain service, engine" >&2
  for project in benchmarks/CxEngine.LoadTest benchmarks/CxEngine.PlainService silo/CxEngine.Silo; do
    dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
  done
fi
load=benchmarks/CxEngine.LoadTest/bin/Release/net10.0/CxEngine.LoadTest
plain=benchmarks/CxEngine.PlainService/bin/Release/net10.0/CxEngine.PlainService
engine=silo/CxEngine.Silo/bin/Release/net10.0/CxEngine.Silo

# The first free port from $1 up, so a running engine (or soak.sh) is never hit.
free_port() {
  local p=$1
  while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

stop_server() {
  kill "$server" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

# One line, JSON-safe: why a row failed.
reason() { grep -m1 -iE "$2" "$1" 2>/dev/null || tail -n 1 "$1" 2>/dev/null || echo "no output"; }
fail_json() { printf '{"failed": "%s"}\n' "$(tr -d '"\\' <<<"$2" | tr '\t\r' '  ' | cut -c1-160)" >"$1"; }

# run_row KEY PORT COMMAND...: starts the server, drives it, stops it; the summary lands in $work/KEY.json.
run_row() {
  local key=$1 port=$2; shift 2
  local json="$work/$key.json" log="$work/$key.log"
  echo "  $key: starting" >&2
  "$@" >"$log" 2>&1 &
  server=$!
  if ! wait_for_port "$port" "$server" 90; then
    fail_json "$json" "server did not start: $(reason "$log" 'exception|error|fail|invalid|unknown|not supported')"
    stop_server
    return
  fi
  "$load" --target "http://127.0.0.1:$port" --customers "$customers" --events "$events" --warmup "$warmup" \
    --streams "$streams" --seed "$seed" --burst "$b" --no-ceiling --get-score 0 --json "$json" >"$work/$key.load.txt" 2>&1 &
  loader=$!
  wait "$loader" || true # in the background, so a signal to this script is handled at once
  loader=""
  if ! kill -0 "$server" 2>/dev/null; then
    fail_json "$json" "server exited during the run: $(reason "$log" 'exception|error|fail')"
  elif [[ ! -f "$json" ]]; then
    fail_json "$json" "load tool left no summary: $(reason "$work/$key.load.txt" 'exception|error|unavailable')"
  fi
  stop_server
}

engine_flags() { # PORT DATA-DIR: the flags soak.sh starts the engine with, on ports of their own
  echo --urls "http://127.0.0.1:$1" --CxEngine:Storage:DataDirectory="$2" \
    --CxEngine:Operator:Url="http://127.0.0.1:$(free_port 19581)" --CxEngine:Http:Url= \
    --CxEngine:Cluster:SiloPort="$(free_port 21281)" --CxEngine:Cluster:GatewayPort="$(free_port 31181)" \
    --Logging:LogLevel:Default=Warning
}

tables=""
for b in $bursts; do
  echo "traffic: burst $b; $events events (+$warmup warm-up) over $customers customers, $streams streams, seed $seed" >&2
  p=$(free_port 50181); run_row "ceiling-b$b" "$p" "$load" ceiling-server --urls "http://127.0.0.1:$p"
  p=$(free_port 50181); run_row "plain-b$b" "$p" "$plain" --urls "http://127.0.0.1:$p" --data "$work/plain-data-b$b" --Logging:LogLevel:Default=Warning
  p=$(free_port 50181)
  # shellcheck disable=SC2046 # engine_flags is a word list on purpose (no spaces inside its words)
  run_row "none-b$b" "$p" "$engine" $(engine_flags "$p" "$work/none-data-b$b") --CxEngine:Storage:Provider=None
  p=$(free_port 50181)
  # shellcheck disable=SC2046
  run_row "default-b$b" "$p" "$engine" $(engine_flags "$p" "$work/default-data-b$b")
  table=$("$load" report --ratio-to "plain service" --ratio-to ceiling \
    "ceiling=$work/ceiling-b$b.json" "plain service=$work/plain-b$b.json" \
    "engine (no storage)=$work/none-b$b.json" "engine (default)=$work/default-b$b.json")
  tables+="$table"$'\n\n'
  if [[ -n "$out" ]]; then
    mkdir -p "$out"
    cp "$work"/*-b"$b".json "$out"/
    printf '%s\n' "$table" >"$out/compare-b$b.md"
  fi
done

echo
printf '%s' "$tables"
