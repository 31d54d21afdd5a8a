#!/usr/bin/env bash
# Runs the demo: installs what is missing, builds, starts the three nodes with
# the demo accounts on this machine, waits until they answer, makes the API
# principals and their keys (an operator, and one customer per demo person),
# writes the keys to .demo/keys.json (mode 0600) and prints the URL, a curl
# example and a sign-in link for the browser.
#   scripts/demo.sh          start (or restart) the demo: new keys each time
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

admin="http://127.0.0.1:8181" # the gateway's admin port (node_config.h)
admin_auth=()
[ -n "${LEDGER_ADMIN_TOKEN:-}" ] && admin_auth=(-H "Authorization: Bearer $LEDGER_ADMIN_TOKEN")
customer='"transfers:write","transfers:read","accounts:read","events:read"'
operator="$customer"',"accounts:open","deposits:write","risk:read"'

# A principal (created, or found with the same scopes) and one new key of it; its old
# active keys are revoked first, so a restart leaves exactly the keys in keys.json.
make_key() { # id kind scopes
  curl -fsS "${admin_auth[@]}" -H 'Content-Type: application/json' -X POST "$admin/principals" \
    -d "{\"id\":\"$1\",\"kind\":\"$2\",\"scopes\":[$3]}" >/dev/null
  for old in $(curl -fsS "${admin_auth[@]}" "$admin/principals/$1" |
               jq -r '.keys[] | select(.state == "active") | .key_id'); do
    curl -fsS "${admin_auth[@]}" -X DELETE "$admin/principals/$1/keys/$old" >/dev/null
  done
  curl -fsS "${admin_auth[@]}" -X POST "$admin/principals/$1/keys" | jq -r .key
}

echo -n "demo: waiting for the gateway"
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$http_port/api/health" >/dev/null 2>&1 &&
     curl -fsS "${admin_auth[@]}" "$admin/health" >/dev/null 2>&1; then
    echo " ... up"
    keys="$demo/keys.json"
    (umask 077; rm -f "$keys.new"
     { echo "{\"operator\":\"$(make_key operator operator "$operator")\""
       for person in alice bob carol dave mallory; do
         echo ",\"$person\":\"$(make_key "$person" customer "$customer")\""
       done
       echo "}"; } | jq . >"$keys.new"
     mv "$keys.new" "$keys")
    # The browser gets the keys in the URL's fragment, which it never sends to a server.
    signin=$(jq -jc . "$keys" | base64 -w0 | tr '+/' '-_' | tr -d '=')
    echo
    echo "  Demo:      http://localhost:$http_port/#signin=$signin"
    echo "             (signs the page in with every demo key; keep the link private)"
    echo "  Keys:      $keys (mode 0600; new keys at every start)"
    echo "  API:       KEY=\$(jq -r .alice $keys)"
    echo "             curl -H \"Authorization: Bearer \$KEY\" http://localhost:$http_port/api/accounts"
    echo "  Logs:      $demo/logs/{gateway,accounts,fraud}.log"
    echo "  Stop:      scripts/demo.sh stop"
    exit 0
  fi
  echo -n .; sleep 0.2
done
echo " ... no answer; see $demo/logs/" >&2
tail -n 5 "$demo"/logs/*.log >&2 || true
exit 1
