#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: installs what the tests start themselves
# (redis-server from Debian, Azurite from npm) when it is missing, then `dotnet test`.
# Prints one closing line: "tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=install-servers.sh
source scripts/install-servers.sh
log="$(mktemp)"
dotnet test Tosc.sln -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
