# Shared by the benchmarks: CPU time of processes, from /proc.

# cpu_ticks PID...: clock ticks (user + system) the processes have used so far; a process that is gone counts 0.
cpu_ticks() {
  local ticks=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] && ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$ticks"
}

# postgres_pids: every PostgreSQL server process on this machine (the throwaway servers run as 'postgres').
postgres_pids() { pgrep -u postgres -x postgres 2>/dev/null || true; }
