#!/usr/bin/env bash
# Builds everything and runs every test. Needs nothing but the .NET SDK; whatever else the tests
# need (PostgreSQL, Chromium for the desk), this script installs or brings up and tears down itself; it also runs the README's walkthroughs as written
# (scripts/readme-walkthroughs.sh). Ends with a line "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
require_dotnet

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

dotnet build CxEngine.sln -c Release -nologo -clp:ErrorsOnly

# The durability and cluster tests need a real PostgreSQL: a throwaway one, removed on exit.
pgdir=$(mktemp -d /tmp/cxengine-pg.XXXXXX)
trap 'bash scripts/lib/test-postgres.sh destroy "$pgdir"' EXIT
if ! bash scripts/lib/test-postgres.sh start "$pgdir"; then
  echo "error: could not start the test PostgreSQL (see above); the PostgreSQL tests cannot run" >&2
  exit 1
fi
source "$pgdir/env"

# The desk's browser tests drive Debian's Chromium through its chromedriver (nothing is downloaded): installed from the
# OS packages when missing, as the walkthroughs' curl and jq are.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: the desk's browser tests need Debian's chromium and chromium-driver; install them (apt-get install -y chromium chromium-driver)" >&2
    exit 1
  fi
  echo "installing chromium and chromium-driver from the OS packages for the desk's browser tests..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
fi

status=0
# The README's walkthroughs, run from the README as written against fresh engines (about 2-3 minutes).
walkthroughs=0
bash scripts/readme-walkthroughs.sh || walkthroughs=$?

dotnet test CxEngine.sln -c Release --no-build -nologo \
  --logger "trx;LogFilePrefix=results" --logger "console;verbosity=normal" \
  --results-directory "$results" --blame-hang-timeout 10m || status=$?

# One closing line over every test project's results.
total=0; passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  total=$((total + ${t:-0})); passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
skipped=$((total - passed - failed))
if [ "$walkthroughs" -ne 0 ]; then
  echo "error: the README's walkthroughs failed (scripts/readme-walkthroughs.sh, output above)" >&2
  status=1
fi
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"

if [ "$total" -eq 0 ]; then
  echo "error: no test ran" >&2
  exit 1
fi
if [ "$skipped" -ne 0 ]; then
  echo "error: ${skipped} tests did not run; no test may be skipped" >&2
  exit 1
fi
exit "$status"
