#!/usr/bin/env bash
# Runs the demo: installs what is missing, builds, starts the three nodes with
# the demo accounts on this machine, waits until they answer, prints the URL.
#   scripts/demo.sh          start (or restart) the demo
#   scripts/demo.sh stop     stop it
# State and logs live in .demo/ (delete it for a fresh start).
# The gateway serves plain HTTP on loopback (127.0.0.1:8080 by default). With
# LEDGER_HTTP_HOST set to another address (e.g. 0.0.0.0) it serves HTTPS: with
# LEDGER_TLS_CERT/LEDGER_TLS_KEY when given, else with a self-signed
# certificate made once in .demo/tls/ (deploy/make-self-signed-cert.sh). Plain
# HTTP off loopback only with LEDGER_INSECURE_HTTP=1 (the gateway warns).
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
http_host=${LEDGER_HTTP_HOST:-127.0.0.1}
# The gateway's listen rule (nodes/gateway/gateway_tls.h): HTTPS, or plain HTTP on loopback.
scheme=http loopback=0 url_host=localhost probe_host=127.0.0.1 tls=() cacert=""
case "$http_host" in
  127.*|::1|localhost|LOCALHOST) loopback=1 ;;
  0.0.0.0|::) ;;
  *:*) url_host="[$http_host]" probe_host="[$http_host]" ;;
  *) url_host=$http_host probe_host=$http_host ;;
esac
if [ -n "${LEDGER_TLS_CERT:-}" ]; then
  scheme=https # the gateway reads LEDGER_TLS_CERT/LEDGER_TLS_KEY itself
elif [ "$loopback" = 0 ]; then
  if [ "${LEDGER_INSECURE_HTTP:-0}" = 1 ]; then
    echo "demo: WARNING: plain HTTP on $http_host (LEDGER_INSECURE_HTTP=1): anyone on the network can read the traffic" >&2
  else
    deploy/make-self-signed-cert.sh "$demo/tls" "$(hostname)" >/dev/null
    scheme=https cacert="$demo/tls/tls.crt"
    tls=(--tls-cert "$demo/tls/tls.crt" --tls-key "$demo/tls/tls.key")
  fi
fi
for node in accounts fraud gateway; do
  extra=()
  [ "$node" = accounts ] && extra=(--demo)
  [ "$node" = gateway ] && extra=(--web-dir "$root/web/dist" --http-port "$http_port" --http-host "$http_host" ${tls[@]+"${tls[@]}"})
  nohup "build/nodes/ledger-$node" --data-dir "$demo/data/$node" "${extra[@]}" \
    >>"$demo/logs/$node.log" 2>&1 &
  echo $! >"$demo/$node.pid"
done

echo -n "demo: waiting for the gateway"
for _ in $(seq 100); do
  # -k: this probe only asks whether the gateway is up, from this machine
  if curl -kfsS "$scheme://$probe_host:$http_port/api/accounts" >/dev/null 2>&1; then
    echo " ... up"
    echo
    echo "  Demo:      $scheme://$url_host:$http_port/"
    if [ -n "$cacert" ]; then
      echo "  API:       curl --cacert $cacert $scheme://$url_host:$http_port/api/accounts"
      echo "  HTTPS:     self-signed certificate $cacert (browsers warn until you trust it)"
    else
      echo "  API:       curl $scheme://$url_host:$http_port/api/accounts"
    fi
    echo "  Logs:      $demo/logs/{gateway,accounts,fraud}.log"
    echo "  Stop:      scripts/demo.sh stop"
    exit 0
  fi
  echo -n .; sleep 0.2
done
echo " ... no answer; see $demo/logs/" >&2
tail -n 5 "$demo"/logs/*.log >&2 || true
exit 1
