#!/usr/bin/env bash
# Runs the demo: installs what is missing, builds, starts the three nodes with
# the demo accounts on this machine, waits until they answer, makes the API
# principals and their keys (an operator, and one customer per demo person,
# who owns the demo account of its name), funds each new demo account by a
# deposit the operator makes through the gateway (no money from nowhere:
# deposits come from the settlement account; alice-eur gets 500.00 EUR), freezes
# dave's account (PATCH as the operator, once: the page then shows a frozen
# account whose payments are declined account_frozen), writes the keys to
# .demo/keys.json (mode 0600) and prints the URL, a curl example and a
# sign-in link for the browser.
# The node links use CURVE (issue 19): the mesh's key pairs and allow-lists
# are made once in .demo/keys (ledger-keys init --if-missing: a restart keeps
# them) and every node gets LEDGER_KEYS_DIR=.demo/keys. The harness key
# exists there but is allowed nowhere until an operator allows it (the script
# prints how). LEDGER_HARNESS_REPLAY=1 and LEDGER_INSECURE_PLAINTEXT=1 in the
# environment reach the nodes as they are.
#   scripts/demo.sh          start (or restart) the demo: new API keys each time
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

case "${1:-}" in
  stop) stop_nodes; echo "demo stopped"; exit 0 ;;
  "") ;;
  -h|--help)
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    echo "Ports: the gateway's HTTP port is LEDGER_HTTP_PORT (8080); the nodes' admin ports"
    echo "(8181-8183) and message ports (7101-7302) are fixed: one demo per machine."
    exit 0 ;;
  *) echo "usage: scripts/demo.sh [stop|--help]" >&2; exit 2 ;;
esac

scripts/setup.sh --with-web
echo "demo: building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
if [ -f web/package.json ]; then (cd web && npm run --silent build >/dev/null); fi

# The mesh's CURVE keys: made on the first start, kept on every later one.
keys_tool="$root/build/tools/keys/ledger-keys"
keys_dir="$demo/keys"
"$keys_tool" init --dir "$keys_dir" --if-missing >/dev/null
if ! why=$("$keys_tool" check --dir "$keys_dir" 2>&1); then
  echo "demo: the node keys in $keys_dir fail their checks:" >&2
  echo "$why" >&2
  echo "demo: fix them as said, or delete $keys_dir for a new mesh (the data stays)" >&2
  exit 1
fi

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
  LEDGER_KEYS_DIR="$keys_dir" nohup "build/nodes/ledger-$node" --data-dir "$demo/data/$node" "${extra[@]}" \
    >>"$demo/logs/$node.log" 2>&1 &
  echo $! >"$demo/$node.pid"
done

admin="http://127.0.0.1:8181" # the gateway's admin port (node_config.h)
admin_auth=()
[ -n "${LEDGER_ADMIN_TOKEN:-}" ] && admin_auth=(-H "Authorization: Bearer $LEDGER_ADMIN_TOKEN")
customer='"transfers:write","transfers:read","accounts:read","events:read"'
operator="$customer"',"accounts:open","accounts:manage","deposits:write","risk:read"'

# A principal (created, or found with the same scopes) and one new key of it; its old
# active keys are revoked first, so a restart leaves exactly the keys in keys.json.
make_key() { # id kind scopes
  curl -fsS "${admin_auth[@]}" -H 'Content-Type: application/json' -X POST "$admin/principals" \
    -d "{\"id\":\"$1\",\"kind\":\"$2\",\"scopes\":[$3]}" >/dev/null
  for old in $(curl -fsS "${admin_auth[@]}" "$admin/principals/$1" |
               jq -r '.keys[] | select(.state == "active") | .key_id'); do
    curl -fsS "${admin_auth[@]}" -X DELETE "$admin/principals/$1/keys/$old" >/dev/null
  done
  curl -fsS "${admin_auth[@]}" -H 'Content-Type: application/json' -X POST "$admin/principals/$1/keys" | jq -r .key
}

# The demo people and their order in keys.json; the opening deposits: account, amount in
# minor units, currency (alice-eur and bob-eur are the EUR pair; bob-eur stays at zero).
people=(alice bob carol dave mallory)
deposits=("alice 100000 GBP" "bob 25000 GBP" "carol 500000 GBP" "dave 5000 GBP" "mallory 1000000 GBP"
          "alice-eur 50000 EUR")

# Funds the demo accounts that have never moved (their newest ledger entry is still the one
# of their opening, at zero) with a deposit each, as the operator, and waits until they
# settled: a restart deposits nothing again. An account the accounts node did not open
# (an older build) is skipped.
fund_demo_accounts() { # operator-key
  local api="$scheme://$probe_host:$http_port/api" auth="Authorization: Bearer $1" ids=()
  local account amount currency newest
  for line in "${deposits[@]}"; do
    read -r account amount currency <<<"$line"
    newest=$(curl -kfsS -H "$auth" "$api/accounts/$account/ledger?limit=1" | jq -r '.entries[0].kind // "none"') ||
      { echo "demo: no account $account: not funded" >&2; continue; }
    case "$newest" in open|none) ;; *) continue ;; esac
    ids+=("$(curl -kfsS -X POST -H "$auth" -H 'Content-Type: application/json' \
      -H "Idempotency-Key: demo-deposit-$account" "$api/deposits" \
      -d "{\"account\":\"$account\",\"amount\":$amount,\"currency\":\"$currency\",\"reference\":\"demo deposit\"}" | jq -r .id)")
  done
  for id in "${ids[@]}"; do
    for _ in $(seq 100); do
      status=$(curl -kfsS -H "$auth" "$api/transfers/$id" | jq -r .status)
      [ "$status" != pending ] && break
      sleep 0.1
    done
    [ "$status" = settled ] || echo "demo: the deposit $id is $status" >&2
  done
}

# Opens the EUR pair through the API when the data dir is older than it (the accounts
# node's demo seed opens it only in a new dir): 201 the first time, 200 afterwards.
open_eur_pair() { # operator-key
  local api="$scheme://$probe_host:$http_port/api" auth="Authorization: Bearer $1" line id name owner
  for line in "alice-eur|Alice Smith (EUR)|alice" "bob-eur|Bob Jones (EUR)|bob"; do
    IFS='|' read -r id name owner <<<"$line"
    curl -kfsS -X POST -H "$auth" -H 'Content-Type: application/json' "$api/accounts" \
      -d "{\"id\":\"$id\",\"name\":\"$name\",\"currency\":\"EUR\",\"owner\":\"$owner\"}" \
      >/dev/null || echo "demo: could not open $id" >&2
  done
}

# Freezes dave's account (PATCH /api/accounts/dave as the operator, scope accounts:manage)
# unless it is frozen already: its payments are then declined account_frozen, money can
# still come in. `curl -X PATCH ... -d '{"status":"active"}'` unfreezes it.
freeze_dave() { # operator-key
  local api="$scheme://$probe_host:$http_port/api" auth="Authorization: Bearer $1" status
  status=$(curl -kfsS -H "$auth" "$api/accounts/dave" | jq -r '.status // "active"') ||
    { echo "demo: no account dave: not frozen" >&2; return 0; }
  [ "$status" = frozen ] && return 0
  curl -kfsS -X PATCH -H "$auth" -H 'Content-Type: application/json' "$api/accounts/dave" \
    -d '{"status":"frozen"}' >/dev/null || echo "demo: could not freeze dave (was $status)" >&2
}

echo -n "demo: waiting for the gateway"
for _ in $(seq 100); do
  # -k: this probe only asks whether the gateway is up, from this machine
  if curl -kfsS "$scheme://$probe_host:$http_port/api/health" >/dev/null 2>&1 &&
     curl -fsS "${admin_auth[@]}" "$admin/health" >/dev/null 2>&1; then
    echo " ... up"
    keys="$demo/keys.json"
    (umask 077; rm -f "$keys.new"
     { echo "{\"operator\":\"$(make_key operator operator "$operator")\""
       for person in "${people[@]}"; do
         echo ",\"$person\":\"$(make_key "$person" customer "$customer")\""
       done
       echo "}"; } | jq . >"$keys.new"
     mv "$keys.new" "$keys")
    open_eur_pair "$(jq -r .operator "$keys")"
    fund_demo_accounts "$(jq -r .operator "$keys")"
    freeze_dave "$(jq -r .operator "$keys")"
    # The browser gets the keys in the URL's fragment, which it never sends to a server.
    signin=$(jq -jc . "$keys" | base64 -w0 | tr '+/' '-_' | tr -d '=')
    echo
    echo "  Demo:      $scheme://$url_host:$http_port/#signin=$signin"
    echo "             (signs the page in with every demo key; keep the link private)"
    echo "  Data:      alice-eur / bob-eur are a EUR pair (alice-eur funded with 500.00 EUR);"
    echo "             dave's account is frozen: his payments are declined account_frozen"
    echo "  Keys:      $keys (mode 0600; new keys at every start)"
    echo "  API:       KEY=\$(jq -r .alice $keys)"
    if [ -n "$cacert" ]; then
      echo "             curl --cacert $cacert -H \"Authorization: Bearer \$KEY\" $scheme://$url_host:$http_port/api/accounts"
      echo "  HTTPS:     self-signed certificate $cacert (browsers warn until you trust it)"
    else
      echo "             curl -H \"Authorization: Bearer \$KEY\" $scheme://$url_host:$http_port/api/accounts"
    fi
    echo "  Node keys: $keys_dir (CURVE; kept across restarts). For ledger-harness:"
    echo "             export LEDGER_KEYS_DIR=.demo/keys"
    echo "             build/tools/keys/ledger-keys allow harness --to gateway accounts fraud --dir .demo/keys"
    echo "  Logs:      $demo/logs/{gateway,accounts,fraud}.log"
    echo "  Stop:      scripts/demo.sh stop"
    exit 0
  fi
  echo -n .; sleep 0.2
done
echo " ... no answer; see $demo/logs/" >&2
tail -n 5 "$demo"/logs/*.log >&2 || true
exit 1
