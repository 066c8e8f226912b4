#!/usr/bin/env bash
# Installs the servers the tests and the benchmark harness start themselves, when they are missing:
# redis-server, postgresql and etcd-server (Debian packages) and Azurite (npm). Source it: it puts Azurite on PATH for the caller.
# The servers are never left running: every test or benchmark starts its own on a free loopback port.

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server (Debian package)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
  # The package starts a system service on 6379; the tests start their own servers on free ports.
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
if ! command -v pg_config >/dev/null 2>&1; then
  echo "installing postgresql (Debian package)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq postgresql >/dev/null
  # The package starts a cluster on 5432; the tests run initdb and their own server on free ports.
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
if ! command -v etcd >/dev/null 2>&1; then
  echo "installing etcd-server (Debian package)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq etcd-server >/dev/null
  # The package starts a member on 2379; the tests and the benchmarks start their own on free ports.
  $SUDO service etcd stop >/dev/null 2>&1 || true
fi
if ! command -v azurite-blob >/dev/null 2>&1 && [ ! -x /opt/azurite/node_modules/.bin/azurite-blob ]; then
  echo "installing azurite (npm package)"
  mkdir -p /opt/azurite && npm install --silent --no-fund --no-audit --prefix /opt/azurite azurite@3.35.0 >/dev/null
fi
export AZURITE_DIR=/opt/azurite
export PATH="/opt/azurite/node_modules/.bin:$PATH"
