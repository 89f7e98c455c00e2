#!/usr/bin/env bash
# Runs the README's walkthroughs as a new user would, from the README itself, against fresh engines, and checks their
# key outputs, so the README cannot drift from what the engine does (scripts/test.sh runs this):
#   1. "Quick start with the samples": the engine, the simulator and the CRM client;
#   2. "Replay: re-score, import, export": against the quick start's engine, still running with its data;
#   3. "From curl to a signed webhook": its own fresh engine and receiver; every `# {...}` output line shown in the
#      README after a command must be what the command printed, and the receiver must print the three entries shown;
#   4. "Tenants: one engine for many businesses": its own fresh engine with three keys, every output shown checked.
# Each block is taken from README.md (the first ```bash block after its heading) and run unchanged, from the
# checkout's root for the first and third and from a scratch folder inside the checkout (artifacts/, git-ignored)
# for the replay, whose files land in the current folder. Each engine gets a data folder of its own
# (CXENGINE_DATA_DIR, what the README gives for a fresh start). Needs the ports the README uses (8080, 50051, 8088).
#   scripts/readme-walkthroughs.sh        exit 0 when every check passed; the failing check and the block's output otherwise
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/lib/dotnet.sh
source scripts/lib/ports.sh
require_dotnet

# The walkthroughs use curl and jq, as the README does: installed from the OS packages when missing (as root).
missing=()
for tool in curl jq; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" != 0 ]; then
    echo "error: the README's walkthroughs use ${missing[*]}; install them (Debian: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "installing ${missing[*]} from the OS packages for the README's walkthroughs..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
for port in 8080 50051 8088; do
  if port_in_use "$port"; then
    echo "error: port $port is in use; the README's walkthroughs need it (stop the engine or receiver running there)" >&2
    exit 1
  fi
done

work="$root/artifacts/walkthroughs"
rm -rf "$work"
mkdir -p "$work"
groups=()
cleanup() {
  for group in "${groups[@]}"; do kill -- "-$group" 2>/dev/null || true; done
  sleep 1
  for group in "${groups[@]}"; do kill -9 -- "-$group" 2>/dev/null || true; done
}
trap cleanup EXIT

# The first ```bash block after the heading line that is exactly $1.
block() {
  awk -v heading="$1" '
    $0 == heading { found = 1; next }
    found && !inside && /^```bash$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
  ' README.md
}

# Runs a block in its own process group (so everything it starts can be stopped), output to a log; waits for it.
run_block() { # name heading directory
  local name=$1 heading=$2 dir=$3 script="$work/$1.sh" log="$work/$1.log"
  block "$heading" >"$script"
  [[ -s "$script" ]] || { echo "error: README.md has no bash block after '$heading'" >&2; exit 1; }
  echo "walkthrough '$name': running $(wc -l <"$script") lines from README.md ($heading)"
  # In one process group with everything it starts: the cleanup stops it all, whatever the block left running.
  (cd "$dir" && exec setsid bash -c "echo \$\$ >'$work/$name.pgid'; source '$script'" >"$log" 2>&1) &
  local pid=$!
  until [[ -s "$work/$name.pgid" ]] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  [[ -s "$work/$name.pgid" ]] && groups+=("$(cat "$work/$name.pgid")")
  if ! wait "$pid"; then
    echo "walkthrough '$name' failed: a command of the block exited non-zero; its output:" >&2
    tail -40 "$log" >&2
    exit 1
  fi
}

check() { # name what pattern (fixed string)
  if ! grep -qF -- "$3" "$work/$1.log"; then
    echo "walkthrough '$1': $2 not found in its output: $3" >&2
    tail -40 "$work/$1.log" >&2
    exit 1
  fi
}

# 1. Quick start; its engine stays up (the block says how to stop it) for the replay.
export CXENGINE_DATA_DIR="$work/quickstart-data"
run_block quickstart "## Quick start with the samples" "$root"
check quickstart "the engine naming its database" "Storage: SQLite database $CXENGINE_DATA_DIR/cxengine.db"
check quickstart "the simulator's closing line" "Raised per customer episode:"
check quickstart "the CRM client's customer" "Customer cust-000042"
check quickstart "the CRM client's history" "Why the score moved (newest first):"

# 2. Replay, in a scratch folder of the checkout, against the quick start's engine.
mkdir -p "$work/replay"
run_block replay "## Replay: re-score, import, export" "$work/replay"
check replay "the import of the engine's own export" "APPLIED 0, DUPLICATE"
check replay "the import's rejections" "REJECTED 0, UNAVAILABLE 0"
check replay "the dry run's report" "dry run:"
check replay "the apply's report" "applied:"
check replay "the scores export" "scores written to scores.csv"
jq -e '.baseline == 60' "$work/replay/standard.json" >/dev/null || { echo "walkthrough 'replay': standard.json is not the standard tier with baseline 60" >&2; exit 1; }
cleanup
groups=()
for port in 8080 50051; do wait_for_port_free "$port" || { echo "error: port $port still taken after the quick start's engine was stopped" >&2; exit 1; }; done

# 3. The webhook walkthrough, on a fresh engine: every output the README shows must be what the commands printed.
export CXENGINE_DATA_DIR="$work/webhook-data"
run_block webhook "### From curl to a signed webhook" "$root"
while IFS= read -r expected; do
  check webhook "an output the README shows" "$expected"
done < <(block "### From curl to a signed webhook" | sed -n 's/^# \({.*}\)$/\1/p')
while IFS= read -r expected; do
  check webhook "a line the README says the receiver printed" "$expected"
done < <(block "### From curl to a signed webhook" | sed -n 's/^#   \(#[0-9].*\)$/\1/p')
check webhook "the delivery state" '"lastError":""'
cleanup
groups=()
for port in 8080 50051; do wait_for_port_free "$port" || { echo "error: port $port still taken after the webhook walkthrough's engine was stopped" >&2; exit 1; }; done

# 4. Two tenants on one engine, with curl: every `# {...}` output the README shows must be what the commands printed.
export CXENGINE_DATA_DIR="$work/tenants-data"
run_block tenants "### Tenants: one engine for many businesses" "$root"
expected_count=0
while IFS= read -r expected; do
  check tenants "an output the README shows" "$expected"
  expected_count=$((expected_count + 1))
done < <(block "### Tenants: one engine for many businesses" | sed -n 's/^# \({.*}\)$/\1/p')
((expected_count == 8)) || { echo "walkthrough 'tenants': expected 8 shown outputs in the README block, found $expected_count" >&2; exit 1; }

echo "walkthroughs: quick start, replay, webhook and tenants ran as README.md writes them; every checked output matched"
