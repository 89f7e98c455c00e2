# Shared by the scripts: the SDK pinned in global.json must be on PATH.
require_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK is not on PATH. Install the SDK named in global.json (dotnet 10) and try again." >&2
    exit 1
  fi
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# build_release PROJECT...: Release builds of the given projects, quiet unless one fails (then its errors, and exit).
build_release() {
  local project log
  log=$(mktemp)
  for project in "$@"; do
    dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
  done
  rm -f "$log"
}
