#!/usr/bin/env bash
# Runs CxEngine on its embedded default: one silo, SQLite in ./data, gRPC on http://localhost:50051.
# Extra arguments go to the engine, e.g. --urls http://127.0.0.1:6000 or --CxEngine:Storage:DataDirectory=/var/lib/cxengine
# CXENGINE_DATA_DIR moves the database too: CXENGINE_DATA_DIR=$(mktemp -d) ./scripts/run-engine.sh starts from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/dotnet.sh
require_dotnet
# dotnet run starts the engine in the project's folder; keep the database in ./data of the checkout
# (a --CxEngine:Storage:DataDirectory given here comes later and wins).
exec dotnet run --project silo/CxEngine.Silo/CxEngine.Silo.csproj -c Release -- \
  --CxEngine:Storage:DataDirectory="${CXENGINE_DATA_DIR:-$PWD/data}" "$@"
