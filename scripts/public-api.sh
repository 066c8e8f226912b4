#!/usr/bin/env bash
# Writes the public API of src projects into their PublicAPI files (Microsoft.CodeAnalysis.PublicApiAnalyzers,
# wired for every src project in src/Directory.Build.props). It builds the project with warnings left as warnings,
# takes each RS0016 diagnostic ("Symbol '...' is not part of the declared public API") and adds that line to
# PublicAPI.Unshipped.txt, creating both files (with their `#nullable enable` header) when they are missing.
#
#   bash scripts/public-api.sh src/Tosc.Backends.Etcd          # a new project, or new members: Unshipped.txt
#   bash scripts/public-api.sh --shipped src/Tosc               # at a release: straight into Shipped.txt
#
# At a release, move the lines of each Unshipped.txt to its Shipped.txt. A removed or changed member (RS0017) is not
# edited here on purpose: take its line out by hand, since that change breaks callers and needs a reviewer's eye.
# Heavy commands go through /work/cpu when it exists (a shared machine); set DOTNET to override the command.
set -euo pipefail
cd "$(dirname "$0")/.."

target=Unshipped
if [ "${1:-}" = "--shipped" ]; then target=Shipped; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--shipped] src/Project [src/Other ...]" >&2; exit 2; }
if [ -z "${DOTNET:-}" ]; then
  if [ -x /work/cpu ]; then DOTNET="/work/cpu dotnet"; else DOTNET=dotnet; fi
fi

for dir in "$@"; do
  dir="${dir%/}"
  project="$(ls "$dir"/*.csproj 2>/dev/null | head -1)"
  [ -n "$project" ] || { echo "no .csproj in $dir" >&2; exit 2; }
  for kind in Shipped Unshipped; do
    [ -f "$dir/PublicAPI.$kind.txt" ] || printf '#nullable enable\n' >"$dir/PublicAPI.$kind.txt"
  done
  file="$dir/PublicAPI.$target.txt"
  full="$(cd "$(dirname "$project")" && pwd)/$(basename "$project")"
  # A new type's members are reported in the same build as the type, but an added line can reveal another
  # (a nested type); two rounds reach a fixed point in practice, three are allowed.
  for _ in 1 2 3; do
    log="$(mktemp)"
    $DOTNET build "$project" -c Release --no-incremental -nologo -clp:NoSummary \
      -p:TreatWarningsAsErrors=false -p:WarningsAsErrors= >"$log" 2>&1 || true
    found="$(grep -F "[$full]" "$log" | grep 'RS0016' \
      | sed -nE "s/.*Symbol '(.*)' is not part of the declared public API.*/\1/p" | sort -u || true)"
    if grep -q ': error ' "$log"; then
      grep ': error ' "$log" | sort -u | head -20 >&2
      rm -f "$log"
      echo "$project does not compile; fix the errors above first" >&2
      exit 1
    fi
    rm -f "$log"
    [ -n "$found" ] || break
    { tail -n +2 "$file"; printf '%s\n' "$found"; } | grep -v '^$' | LC_ALL=C sort -u >"$file.new"
    { printf '#nullable enable\n'; cat "$file.new"; } >"$file"
    rm -f "$file.new"
    echo "$file: $(printf '%s\n' "$found" | wc -l) line(s) added"
  done
done
