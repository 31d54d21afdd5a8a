#!/usr/bin/env bash
# Installs what the benchmark needs beyond scripts/setup.sh (run as root):
# PostgreSQL 15 + pgbench for the baseline, gnuplot for the plots, valgrind for
# bench/callgrind.py (the transfers are
# read through the gateway's HTTP API). Idempotent: apt-get runs only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
packages=(postgresql postgresql-contrib gnuplot-nox valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench setup: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "bench setup: need root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
