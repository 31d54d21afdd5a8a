#!/usr/bin/env bash
# The ledger benchmark beside its PostgreSQL baseline, in one run.
#
#   bench/run.sh [--quick|--long] [--accounts 10000|1000000]... [--no-sync]
#   bench/run.sh --soak [--soak-seconds 600] [--soak-retention-s N] [--soak-env NAME=VALUE]...
#
# Installs what is missing (bench/setup.sh), builds build-bench (RelWithDebInfo, asserts on)
# if needed, then bench/bench.py starts the three nodes on loopback ports of its own with
# fresh data dirs, seeds the accounts, drives the loads, waits for every transfer's final
# status, stops everything and prints the table. Each mesh gets its own CURVE keys
# (ledger-keys init into its temp dir, LEDGER_KEYS_DIR for every node). Results: bench/results/ (CSV, table, PNG).
# Default: 15 s per phase, 10k and 1M accounts (about 4 minutes); --quick: 5 s, 10k only;
# --long: 60 s per phase; --soak: 10 minutes (--soak-seconds) at half of peak, sampling each
# node's LMDB pages, heap and outbox into results/soak-<stamp>.csv and .svg (bench/soak.py);
# --soak-retention-s sets the nodes' retentions short, so storage must level off.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/setup.sh >/dev/null
build=build-bench
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j2 --target ledger-accounts ledger-fraud ledger-gateway \
  ledger-bench-loadgen ledger-bench-seed ledger-keys >/dev/null
ulimit -n 65536 2>/dev/null || true
exec /usr/bin/python3 bench/bench.py --build "$build" "$@"
