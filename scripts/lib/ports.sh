# Shared by the scripts that start an engine: wait until a server's port on loopback accepts connections.
#   wait_for_port PORT PID [SECONDS, default 60]
# Returns 0 once the port is open; 1 if the process PID exits first or the time runs out.
wait_for_port() {
  local port=$1 pid=$2 seconds=${3:-60}
  for _ in $(seq 1 $((seconds * 2))); do
    kill -0 "$pid" 2>/dev/null || return 1
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}
