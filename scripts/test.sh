#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: installs what the tests start themselves
# (redis-server from Debian, Azurite from npm) when it is missing, then `dotnet test`.
# Prints one closing line: "tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

install_servers() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server (Debian package)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
    # The package starts a system service on 6379; the tests start their own servers on free ports.
    $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
  if ! command -v azurite-blob >/dev/null 2>&1 && [ ! -x /opt/azurite/node_modules/.bin/azurite-blob ]; then
    echo "installing azurite (npm package)"
    mkdir -p /opt/azurite && npm install --silent --no-fund --no-audit --prefix /opt/azurite azurite@3.35.0 >/dev/null
  fi
  export AZURITE_DIR=/opt/azurite
  export PATH="/opt/azurite/node_modules/.bin:$PATH"
}

install_servers
log="$(mktemp)"
dotnet test Tosc.sln -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
