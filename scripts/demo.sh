#!/usr/bin/env bash
# Runs the demo: installs what is missing, builds, starts the three nodes with
# the demo accounts on this machine, waits until they answer, prints the URL.
#   scripts/demo.sh          start (or restart) the demo
#   scripts/demo.sh stop     stop it
# State and logs live in .demo/ (delete it for a fresh start).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="$root/.demo"
mkdir -p "$demo/logs"

stop_nodes() {
  for node in gateway fraud accounts; do
    if [ -f "$demo/$node.pid" ]; then
      pid=$(cat "$demo/$node.pid")
      if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$demo/$node.pid"
    fi
  done
}

if [ "${1:-}" = stop ]; then stop_nodes; echo "demo stopped"; exit 0; fi

scripts/setup.sh --with-web
echo "demo: building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
if [ -f web/package.json ]; then (cd web && npm run --silent build >/dev/null); fi

stop_nodes
http_port=${LEDGER_HTTP_PORT:-8080}
for node in accounts fraud gateway; do
  extra=()
  [ "$node" = accounts ] && extra=(--demo)
  [ "$node" = gateway ] && extra=(--web-dir "$root/web/dist" --http-port "$http_port" --http-host "${LEDGER_HTTP_HOST:-127.0.0.1}")
  nohup "build/nodes/ledger-$node" --data-dir "$demo/data/$node" "${extra[@]}" \
    >>"$demo/logs/$node.log" 2>&1 &
  echo $! >"$demo/$node.pid"
done

echo -n "demo: waiting for the gateway"
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$http_port/api/accounts" >/dev/null 2>&1; then
    echo " ... up"
    echo
    echo "  Demo:      http://localhost:$http_port/"
    echo "  API:       curl http://localhost:$http_port/api/accounts"
    echo "  Logs:      $demo/logs/{gateway,accounts,fraud}.log"
    echo "  Stop:      scripts/demo.sh stop"
    exit 0
  fi
  echo -n .; sleep 0.2
done
echo " ... no answer; see $demo/logs/" >&2
tail -n 5 "$demo"/logs/*.log >&2 || true
exit 1
