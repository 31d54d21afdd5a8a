#!/usr/bin/env bash
# Makes what docker-compose.yml needs besides the TLS pair, once: the mesh's
# CURVE keys in deploy/keys (ledger-keys init --if-missing: key pairs of
# gateway, accounts, fraud and harness, their public keys and the
# allow-lists) and the admin token deploy/admin_token (32 random bytes as hex,
# mode 0600). Existing files are kept, so running it again is safe; delete
# deploy/keys for a new mesh (every node then needs a restart).
#   deploy/make-mesh-keys.sh [KEYS_DIR]
# KEYS_DIR defaults to deploy/keys. ledger-keys comes from $LEDGER_KEYS_TOOL,
# else build/tools/keys/ledger-keys (a host build), else ledger-keys on PATH,
# else the compose image (ledger-mesh:latest, `docker-compose build` first).
# Neither deploy/keys nor deploy/admin_token goes into git or into an image
# (.gitignore, .dockerignore): compose hands each node only its own secret
# key, as the secret <node>_key.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-deploy/keys}
token=deploy/admin_token

# ledger-keys COMMAND [ARGS...] --dir $dir, with the first tool found.
keys_tool() {
  if [ -n "${LEDGER_KEYS_TOOL:-}" ]; then
    "$LEDGER_KEYS_TOOL" "$@" --dir "$dir"
  elif [ -x build/tools/keys/ledger-keys ]; then
    build/tools/keys/ledger-keys "$@" --dir "$dir"
  elif command -v ledger-keys >/dev/null; then
    ledger-keys "$@" --dir "$dir"
  elif command -v docker >/dev/null; then
    # The image's tool, run as the calling user so the files stay the operator's.
    local parent
    parent=$(cd "$(dirname "$dir")" && pwd)
    docker run --rm --user "$(id -u):$(id -g)" -v "$parent:/out" ledger-mesh:latest \
      ledger-keys "$@" --dir "/out/$(basename "$dir")"
  else
    echo "make-mesh-keys: no ledger-keys: build it (cmake --build build) or set LEDGER_KEYS_TOOL" >&2
    exit 1
  fi
}

mkdir -p "$(dirname "$dir")"
if [ -e "$dir" ]; then
  echo "make-mesh-keys: $dir exists; kept (delete it for a new mesh)"
fi
keys_tool init --if-missing >/dev/null
keys_tool check

if [ -s "$token" ]; then
  echo "make-mesh-keys: $token exists; kept"
else
  (umask 077
   if command -v openssl >/dev/null; then openssl rand -hex 32; else
     od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; echo; fi >"$token.new"
   mv "$token.new" "$token")
  echo "make-mesh-keys: made $token (mode 0600)"
fi
echo "make-mesh-keys: keys in $dir; the harness key is allowed nowhere until"
echo "  ledger-keys allow harness --to NODE... --dir $dir"
