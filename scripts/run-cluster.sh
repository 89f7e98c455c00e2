#!/usr/bin/env bash
# A CxEngine cluster on this machine in one command: a throwaway PostgreSQL (the way the tests start one) and
# N silos on loopback that share it. Prints each silo's gRPC, REST and metrics address; Ctrl+C stops them all
# and removes the database.
#
#   scripts/run-cluster.sh [N, default 3] [extra engine arguments, given to every silo]
#
# Ports: silo i (1..N) serves gRPC on 50050+i, REST on 8079+i, metrics on 9463+i; its Orleans silo and
# gateway ports are 11110+i and 29999+i. Logs go to <dir>/silo-<i>.log, where <dir> is CXENGINE_CLUSTER_DIR (kept on
# exit) or a fresh temporary folder (removed on exit). The database is throwaway either way.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
source scripts/lib/ports.sh
require_dotnet

count=${1:-3}
shift || true
if ! [[ "$count" =~ ^[1-9][0-9]?$ ]]; then
  echo "error: the number of silos must be a whole number from 1 to 99, got '$count'" >&2
  echo "usage: scripts/run-cluster.sh [N] [engine arguments...]" >&2
  exit 2
fi

keep=${CXENGINE_CLUSTER_DIR:-}
work=${keep:-$(mktemp -d /tmp/cxengine-cluster.XXXXXX)}
mkdir -p "$work"
# PostgreSQL runs as the unprivileged 'postgres' user, which must reach its data folder inside this one.
chmod 755 "$work"
pids=()

stop_all() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    echo "stopping ${#pids[@]} silos..." >&2
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # A silo leaves the cluster gracefully (its customers write their snapshots); give it the time to.
    for _ in $(seq 1 60); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.5
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  bash scripts/lib/test-postgres.sh destroy "$work/postgres" || true
  [ -n "$keep" ] || rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

echo "building the engine..." >&2
build_release silo/CxEngine.Silo/CxEngine.Silo.csproj

bash scripts/lib/test-postgres.sh start "$work/postgres"
# shellcheck disable=SC1091
source "$work/postgres/env"

engine=silo/CxEngine.Silo/bin/Release/net10.0/CxEngine.Silo

# Silo $1 is up once its gRPC port opens; its log is shown if it exits or does not open within a minute.
wait_started() {
  local i=$1
  wait_for_port $((50050 + i)) "${pids[$((i - 1))]}" 60 && return 0
  tail -n 30 "$work/silo-$i.log" >&2 || true
  echo "error: silo $i did not open gRPC on $((50050 + i)) (it exited, or a minute passed; log: $work/silo-$i.log)" >&2
  exit 1
}
for i in $(seq 1 "$count"); do
  "$engine" --urls "http://127.0.0.1:$((50050 + i))" \
    --CxEngine:Storage:Provider=PostgreSql --CxEngine:Storage:ConnectionString="$CXENGINE_TEST_POSTGRES" \
    --CxEngine:Cluster:SiloPort=$((11110 + i)) --CxEngine:Cluster:GatewayPort=$((29999 + i)) \
    --CxEngine:Http:Url="http://127.0.0.1:$((8079 + i))" --CxEngine:Operator:Url="http://127.0.0.1:$((9463 + i))" \
    "$@" >"$work/silo-$i.log" 2>&1 &
  pids+=($!)
  # The first silo creates the schema; the others join once it is up.
  if [ "$i" = 1 ]; then wait_started 1; fi
done

for i in $(seq 2 "$count"); do
  wait_started "$i"
done

echo
echo "CxEngine cluster of $count silos on PostgreSQL ($CXENGINE_TEST_POSTGRES)"
printf '  %-6s %-24s %-24s %s\n' silo gRPC REST metrics
for i in $(seq 1 "$count"); do
  printf '  %-6s %-24s %-24s %s\n' "$i" "http://127.0.0.1:$((50050 + i))" "http://127.0.0.1:$((8079 + i))" "http://127.0.0.1:$((9463 + i))/metrics"
done
echo "logs in $work; Ctrl+C stops the cluster and removes the database${keep:+ (the logs are kept)}"

# Until Ctrl+C, or until a silo dies (then the rest are stopped too, and the script says which).
while true; do
  for i in $(seq 1 "$count"); do
    if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
      echo "error: silo $i exited; see $work/silo-$i.log" >&2
      tail -n 20 "$work/silo-$i.log" >&2 || true
      exit 1
    fi
  done
  sleep 1
done
