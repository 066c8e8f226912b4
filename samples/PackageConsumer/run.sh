#!/usr/bin/env bash
# Packs every package of the repository into artifacts/packages (the README's command) and runs this program against
# them, from that folder as a package feed: the in-process and file backends and the hosting package, no server.
# Exits non-zero when packing, restoring, building or any check fails. CI runs it (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet pack Tosc.sln -c Release -o artifacts/packages --nologo -v quiet
version="$(dotnet msbuild src/Tosc/Tosc.csproj -getProperty:Version)"
# A re-pack keeps its version: drop what an earlier run restored so these packages are the ones used.
rm -rf artifacts/consumer-packages/tosc artifacts/consumer-packages/tosc.*
dotnet run --project samples/PackageConsumer -c Release -p:ToscVersion="$version"
