# Shared by the scripts that start an engine: whether a port on loopback is taken, and waiting for it to open or close.
#   wait_for_port PORT PID [SECONDS, default 60]
# Returns 0 once the port is open; 1 if the process PID exits first or the time runs out.
wait_for_port() {
  local port=$1 pid=$2 seconds=${3:-60}
  for _ in $(seq 1 $((seconds * 2))); do
    kill -0 "$pid" 2>/dev/null || return 1
    port_in_use "$port" && return 0
    sleep 0.5
  done
  return 1
}

# port_in_use PORT: 0 when something on loopback accepts connections on PORT.
port_in_use() {
  (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for_port_free PORT [SECONDS, default 30]: 0 once nothing listens on PORT any more, 1 if the time runs out.
wait_for_port_free() {
  local port=$1 seconds=${2:-30}
  for _ in $(seq 1 $((seconds * 2))); do
    port_in_use "$port" || return 0
    sleep 0.5
  done
  return 1
}
