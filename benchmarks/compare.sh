#!/usr/bin/env bash
# Side by side, the same load against four servers, one alive at a time:
#   ceiling               the load tool's own no-op gRPC server (what gRPC and this machine allow)
#   plain service         benchmarks/CxEngine.PlainService: ASP.NET Core + SQLite written by hand, same contract and formulas
#   engine (no storage)   the engine with --CxEngine:Storage:Provider=None
#   engine (default)      the engine as configured by default (SQLite in a fresh data directory), flags as soak.sh
# and, asked for with --rows, on PostgreSQL (a throwaway server per row, as the tests start one):
#   postgres              one silo on PostgreSQL
#   postgres-2            two silos sharing that PostgreSQL, the load split over both (half the streams each)
#   traced                the default engine with tracing on (ratio $TRACE_RATIO, default 0.01), exporting to a
#                         minimal OTLP/HTTP receiver started by this script (it answers 200 and counts)
#   tenant                the default engine with an API key of tenant "acme" (every role), the load sent with that key
#   other                 another build of the engine, $OTHER_ENGINE (a CxEngine.Silo binary, e.g. of an earlier commit),
#                         configured as the default row: a change measured against what it changed, in the same run
# then one markdown table per traffic shape (events/s, ack p50/p99/p99.9, errors, ratios to the plain service,
# the ceiling and, with PostgreSQL rows, the engine on SQLite).
#   benchmarks/compare.sh [--customers N] [--events N] [--warmup N] [--streams N] [--seed N]
#                         [--burst K] [--shape uniform|burst|both] [--rows LIST] [--out DIR] [--no-build]
# --shape both runs the uniform mix and bursts of K (default 4); --rows picks rows, comma-separated, from
# ceiling,plain,none,default,postgres,postgres-2,traced,tenant,other (default: the first four); --out DIR keeps the summaries and tables.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
source scripts/lib/ports.sh
source scripts/lib/cpu.sh
require_dotnet

customers=100000; events=300000; warmup=20000; streams=8; seed=1; burst=""; shape=""; out=""; build=1; rows=ceiling,plain,none,default
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
    --rows) rows=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
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

declare -A labels=([ceiling]="ceiling" [plain]="plain service" [none]="engine (no storage)" [default]="engine (default)"
  [postgres]="engine (PostgreSQL)" [postgres-2]="2 silos (PostgreSQL)"
  [traced]="engine (traces on, ratio ${TRACE_RATIO:-0.01})" [tenant]="engine (tenant key)"
  [other]="${OTHER_LABEL:-engine (other build)}")
IFS=, read -r -a picked <<<"$rows"
for row in "${picked[@]}"; do
  [[ -n "${labels[$row]:-}" ]] || { echo "compare.sh: unknown row '$row' in --rows (ceiling,plain,none,default,postgres,postgres-2,traced,tenant,other)" >&2; exit 2; }
done
wants() { [[ ",$rows," == *",$1,"* ]]; }

work=$(mktemp -d /tmp/cxengine-compare.XXXXXX)
chmod 755 "$work" # a throwaway PostgreSQL runs as 'postgres' and keeps its data in here
server=""; loader=""
cleanup() {
  for pid in $loader $server; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  bash scripts/lib/test-postgres.sh destroy "$work/postgres" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $build == 1 ]]; then
  echo "building (Release): load tool, plain service, engine" >&2
  build_release benchmarks/CxEngine.LoadTest benchmarks/CxEngine.PlainService silo/CxEngine.Silo
fi
load=benchmarks/CxEngine.LoadTest/bin/Release/net10.0/CxEngine.LoadTest
plain_bin=benchmarks/CxEngine.PlainService/bin/Release/net10.0/CxEngine.PlainService
engine_bin=silo/CxEngine.Silo/bin/Release/net10.0/CxEngine.Silo

# The first free port from $1 up, so a running engine (or soak.sh) is never hit.
free_port() {
  local p=$1
  while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

stop_server() {
  local pid
  for pid in $server; do kill "$pid" 2>/dev/null || true; done
  for pid in $server; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  server=""
  bash scripts/lib/test-postgres.sh destroy "$work/postgres" 2>/dev/null || true
  if [[ -f "$work/sink.pid" ]]; then kill "$(cat "$work/sink.pid")" 2>/dev/null || true; rm -f "$work/sink.pid"; fi
  settle_disk
}

# The row's database goes, and the kernel writes back what it still holds before the next row starts. Without this,
# a SQLite row that followed another SQLite row ran about 30 % slower than the same build in first place (the same two
# builds, 2M events each, swapped places and swapped results), most likely because its fsyncs queued behind the
# write-back of the previous row's gigabytes.
settle_disk() {
  rm -rf "$work"/data-* "$work"/plain-data-*
  sync
  local _
  for _ in $(seq 1 60); do
    (( $(awk '/^(Dirty|Writeback):/ {s+=$2} END {print s+0}' /proc/meminfo) < 65536 )) && return
    sleep 1
  done
}

# One line, JSON-safe: why a row failed.
reason() { grep -m1 -iE "$2" "$1" 2>/dev/null || tail -n 1 "$1" 2>/dev/null || echo "no output"; }
fail_json() { printf '{"failed": "%s"}\n' "$(tr -d '"\\' <<<"$2" | tr '\t\r' '  ' | cut -c1-160)" >"$1"; }

# run_row KEY COUNT START: starts COUNT servers ("START N PORT" starts the Nth on PORT, in the foreground: it is run
# in the background here), drives them with one load tool (the streams split over them), stops them; the summary
# lands in $work/KEY.json.
run_row() {
  local key=$1 count=$2 start=$3
  local json="$work/$key.json" log="" port n targets="" pid
  echo "  $key: starting" >&2
  server=""
  for n in $(seq 1 "$count"); do
    port=$(free_port 50181)
    log="$work/$key.$n.log"
    "$start" "$n" "$port" >"$log" 2>&1 &
    server+=" $!"
    targets+="${targets:+,}http://127.0.0.1:$port"
    # One at a time: the first silo creates the schema and the cluster, the others join it.
    if ! wait_for_port "$port" "$!" 90; then
      fail_json "$json" "server $n did not start: $(reason "$log" 'exception|error|fail|invalid|unknown|not supported')"
      stop_server
      return
    fi
  done
  local before after
  before=$(row_cpu_ticks)
  local headers=()
  if [[ $key == tenant-* ]]; then headers=(--header "x-api-key=$tenant_key"); fi
  "$load" --target "$targets" --customers "$customers" --events "$events" --warmup "$warmup" \
    --streams "$streams" --seed "$seed" --burst "$b" --no-ceiling --get-score 0 --json "$json" "${headers[@]}" >"$work/$key.load.txt" 2>&1 &
  loader=$!
  wait "$loader" || true # in the background, so a signal to this script is handled at once
  loader=""
  after=$(row_cpu_ticks)
  cpu_report "$key" "$before" "$after" "$json" | tee "$work/$key.cpu" >&2
  n=0
  for pid in $server; do
    n=$((n + 1))
    kill -0 "$pid" 2>/dev/null || fail_json "$json" "server $n exited during the run: $(reason "$work/$key.$n.log" 'exception|error|fail')"
  done
  [[ -f "$json" ]] || fail_json "$json" "load tool left no summary: $(reason "$work/$key.load.txt" 'exception|error|unavailable')"
  stop_server
}

# CPU time used so far (clock ticks): "SERVERS POSTGRES", the servers of the row and every PostgreSQL process.
# shellcheck disable=SC2046,SC2086 # lists of pids
row_cpu_ticks() { echo "$(cpu_ticks $server) $(cpu_ticks $(postgres_pids))"; }

# cpu_report KEY "BEFORE" "AFTER" SUMMARY: CPU per event of the servers and of PostgreSQL over the measured run.
cpu_report() {
  local hz events
  hz=$(getconf CLK_TCK)
  events=$(( ${4:+$(grep -o '"events": *[0-9]*' "$4" 2>/dev/null | grep -o '[0-9]*$' || echo 0)} + 0 ))
  python3 - "$1" "$2" "$3" "$hz" "$events" "$warmup" <<'PY'
import sys
key, before, after, hz, events, warmup = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
if events <= 0:
    sys.exit(0)
total = events + warmup  # the ticks span the warm-up too
us = lambda b, a: (int(a) - int(b)) / hz * 1e6 / total
line = f"  {key}: CPU per event (warm-up included): servers {us(before[0], after[0]):.0f} µs"
if int(after[1]) > int(before[1]):
    line += f", PostgreSQL {us(before[1], after[1]):.0f} µs"
print(line)
PY
}

# The engine with the flags soak.sh starts it with, on ports of its own: engine N PORT [more flags].
engine() {
  local n=$1 port=$2; shift 2
  exec "${engine_exe:-$engine_bin}" --urls "http://127.0.0.1:$port" --CxEngine:Storage:DataDirectory="$work/data-$port" \
    --CxEngine:Operator:Url="http://127.0.0.1:$(free_port $((19580 + 100 * n)))" --CxEngine:Http:Url= \
    --CxEngine:Cluster:SiloPort="$(free_port $((21280 + 100 * n)))" --CxEngine:Cluster:GatewayPort="$(free_port $((31180 + 100 * n)))" \
    --Logging:LogLevel:Default=Warning "$@"
}
ceiling() { exec "$load" ceiling-server --urls "http://127.0.0.1:$2"; }
plain() { exec "$plain_bin" --urls "http://127.0.0.1:$2" --data "$work/plain-data-$2" --Logging:LogLevel:Default=Warning; }
none() { engine "$1" "$2" --CxEngine:Storage:Provider=None; }
default() { engine "$1" "$2"; }
# A key of tenant "acme" with every role, given to the engine by its hash and sent by the load tool.
tenant_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
tenant() {
  local i=0 role args=()
  for role in ingest read recovery admin; do args+=("--CxEngine:Security:ApiKeys:0:Roles:$((i++))=$role"); done
  engine "$1" "$2" --CxEngine:Security:ApiKeys:0:Name=load --CxEngine:Security:ApiKeys:0:Tenant=acme \
    --CxEngine:Security:ApiKeys:0:Sha256="$(printf %s "$tenant_key" | sha256sum | cut -d' ' -f1)" "${args[@]}"
}
other() {
  [[ -x "${OTHER_ENGINE:-}" ]] || { echo "compare.sh: the 'other' row needs OTHER_ENGINE, the path of a CxEngine.Silo binary" >&2; exit 1; }
  engine_exe=$OTHER_ENGINE engine "$1" "$2"
}
# A fresh throwaway PostgreSQL for each row, started with the row's first silo.
postgres() {
  if [[ $1 == 1 ]]; then bash scripts/lib/test-postgres.sh start "$work/postgres" >&2; fi
  # shellcheck disable=SC1091
  source "$work/postgres/env"
  engine "$1" "$2" --CxEngine:Storage:Provider=PostgreSql --CxEngine:Storage:ConnectionString="$CXENGINE_TEST_POSTGRES"
}

# An OTLP/HTTP receiver that takes the spans and drops them: what a collector costs the engine is the POSTs.
traced() {
  local sink
  sink=$(free_port 4318)
  python3 -c '
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
' "$sink" &
  echo "$!" >"$work/sink.pid"
  wait_for_port "$sink" "$!" 10 >/dev/null
  engine "$1" "$2" --CxEngine:Tracing:OtlpEndpoint="http://127.0.0.1:$sink" --CxEngine:Tracing:SampleRatio="${TRACE_RATIO:-0.01}"
}

ratios=(--ratio-to "plain service" --ratio-to ceiling)
if wants postgres || wants postgres-2 || wants traced || wants tenant || wants other; then ratios+=(--ratio-to "engine (default)"); fi
tables=""
for b in $bursts; do
  echo "traffic: burst $b; $events events (+$warmup warm-up) over $customers customers, $streams streams, seed $seed" >&2
  summaries=()
  for row in "${picked[@]}"; do
    case "$row" in
      postgres-2) run_row "$row-b$b" 2 postgres ;;
      *) run_row "$row-b$b" 1 "$row" ;;
    esac
    summaries+=("${labels[$row]}=$work/$row-b$b.json")
  done
  table=$("$load" report "${ratios[@]}" "${summaries[@]}")
  tables+="$table"$'\n\n'
  if [[ -n "$out" ]]; then
    mkdir -p "$out"
    cp "$work"/*-b"$b".json "$out"/
    printf '%s\n' "$table" >"$out/compare-b$b.md"
  fi
done

echo
printf '%s' "$tables"
