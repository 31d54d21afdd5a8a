#!/usr/bin/env bash
# Installs everything this project needs on a fresh Debian 12 machine (run as root).
# Idempotent and quick: apt-get update runs only when a package is missing.
# Usage: scripts/setup.sh [--with-web] [--with-browser]
set -euo pipefail
cd "$(dirname "$0")/.."

want_web=0; want_browser=0
for arg in "$@"; do
  case "$arg" in
    --with-web) want_web=1 ;;
    --with-browser) want_web=1; want_browser=1 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config git curl ca-certificates
  libczmq-dev libzmq3-dev liblmdb-dev lmdb-utils libmsgpack-dev
  libmicrohttpd-dev libjansson-dev libsodium-dev libssl-dev libcmocka-dev
  clang libclang-rt-14-dev
  python3 python3-zmq python3-msgpack python3-lmdb jq docker-compose
  prometheus  # promtool: the integration tests check /metrics with it
)
[ "$want_web" = 1 ] && packages+=(nodejs npm)
[ "$want_browser" = 1 ] && packages+=(chromium fonts-dejavu-core)  # fonts: screenshots without tofu

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from outside apt on some machines: accept a working binary.
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "setup: need root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all system packages present"
fi

if [ "$want_web" = 1 ] && [ -f web/package.json ]; then
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
    echo "setup: installing npm modules for web/"
    (cd web && npm ci --no-audit --no-fund)
  fi
fi

if [ "$want_browser" = 1 ] && [ -f tests/e2e/package.json ]; then
  if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then
    echo "setup: installing npm modules for tests/e2e/ (playwright-core, the browser being Debian's chromium; @redocly/cli, ajv, ajv-formats, yaml for openapi.yaml's lint and schema check)"
    (cd tests/e2e && npm ci --no-audit --no-fund)
  fi
fi
