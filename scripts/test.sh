#!/usr/bin/env bash
# Runs the whole test suite: setup, a normal build (warnings are errors), an
# ASan+UBSan build, and a clang libFuzzer build; every ctest label in each.
#   scripts/test.sh            everything
#   LABELS="unit" scripts/test.sh   only some labels (regex for ctest -L)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

step() { printf '\n=== %s ===\n' "$*"; }

step "setup"
if [ -f tests/e2e/package.json ]; then scripts/setup.sh --with-browser; else scripts/setup.sh; fi

labels=${LABELS:-"unit|integration|e2e"}

step "normal build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEDGER_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
if [ -f web/package.json ]; then
  step "web build"
  (cd web && npm run --silent build)
  step "web unit tests (vitest)"
  (cd web && npm test)
fi
step "tests, normal build: $labels"
(cd build && ctest -L "$labels" --output-on-failure -j"$jobs")

step "sanitizer build (build-asan/): ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLEDGER_SANITIZE=ON -DLEDGER_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
step "tests, sanitizer build: unit|integration"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -L "unit|integration" --output-on-failure -j"$jobs")

if [ -z "${LABELS:-}" ] || [[ "$labels" == *fuzz* ]]; then
  step "fuzz build (build-fuzz/): clang + libFuzzer, bounded runs"
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLEDGER_FUZZ=ON -DLEDGER_SANITIZE=ON -DLEDGER_WERROR=ON >/dev/null
  cmake --build build-fuzz -j"$jobs"
  (cd build-fuzz && ctest -L fuzz --output-on-failure)
fi
step "all tests passed"
