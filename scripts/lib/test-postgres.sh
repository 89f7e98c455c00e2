#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on a free loopback port, run as the unprivileged
# 'postgres' user, with everything in one directory that 'destroy' removes.
#
#   test-postgres.sh start DIR     install PostgreSQL from the OS packages if missing, init and start;
#                                   writes DIR/env (CXENGINE_TEST_POSTGRES=connection string, ...)
#   test-postgres.sh stop DIR      stop at once (-m immediate), as a crash or an outage would
#   test-postgres.sh resume DIR    start again on the same port and data
#   test-postgres.sh destroy DIR   stop and remove everything
set -euo pipefail
cmd=${1:?usage: test-postgres.sh start|stop|resume|destroy DIR}
dir=${2:?usage: test-postgres.sh start|stop|resume|destroy DIR}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

install_postgres() {
  if [ "$(id -u)" != 0 ]; then
    echo "error: PostgreSQL is not installed and this user cannot install it; install the OS package 'postgresql' (15 or newer)" >&2
    exit 1
  fi
  echo "PostgreSQL not found; installing it from the OS packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "error: no free port found for PostgreSQL" >&2
  exit 1
}

start_server() {
  local bin port
  bin=$(cat "$dir/bin")
  port=$(cat "$dir/port")
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=400 -c shared_buffers=256MB" start >/dev/null
}

case "$cmd" in
  start)
    bin=$(pg_bin)
    if [ -z "$bin" ]; then
      install_postgres
      bin=$(pg_bin)
    fi
    [ -n "$bin" ] || { echo "error: PostgreSQL binaries not found after installing" >&2; exit 1; }
    id postgres >/dev/null 2>&1 || { echo "error: the 'postgres' user is missing; reinstall the postgresql package" >&2; exit 1; }
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    echo "$bin" > "$dir/bin"
    free_port > "$dir/port"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; echo "error: initdb failed" >&2; exit 1; }
    start_server || { cat "$dir/server.log" >&2; echo "error: PostgreSQL did not start" >&2; exit 1; }
    port=$(cat "$dir/port")
    cat > "$dir/env" <<ENV
export CXENGINE_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=100;Timeout=5;Command Timeout=30"
export CXENGINE_TEST_PG_CTL="$(cd "$(dirname "$0")" && pwd)/test-postgres.sh"
export CXENGINE_TEST_PG_DIR="$dir"
ENV
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests on 127.0.0.1:$port (data in $dir)" >&2
    ;;
  stop)
    as_postgres "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  resume)
    start_server
    ;;
  destroy)
    if [ -f "$dir/bin" ] && [ -d "$dir/data" ]; then
      as_postgres "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: test-postgres.sh start|stop|resume|destroy DIR" >&2
    exit 2
    ;;
esac
