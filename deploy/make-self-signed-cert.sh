#!/usr/bin/env bash
# Makes a self-signed certificate and key for the gateway's HTTPS, for a first
# run (docker-compose, or scripts/demo.sh on a non-loopback address). Browsers
# and curl will not trust it until told to (curl --cacert DIR/tls.crt); use a
# certificate from your CA for anything real.
#   deploy/make-self-signed-cert.sh [DIR] [NAME ...]
# DIR (default deploy/tls) gets tls.crt and tls.key (mode 0600). The
# certificate is valid for localhost, 127.0.0.1, ::1 and each NAME (a host
# name or an IP address, e.g. the machine's name or LAN address), for 365
# days, with an EC P-256 key. Existing files are kept (delete them to make new
# ones), so running it again is safe.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-deploy/tls}
[ $# -gt 0 ] && shift
crt="$dir/tls.crt"
key="$dir/tls.key"

if [ -e "$crt" ] || [ -e "$key" ]; then
  if [ -s "$crt" ] && [ -s "$key" ]; then
    echo "make-self-signed-cert: $crt and $key exist; kept (delete them for new ones)"
    exit 0
  fi
  echo "make-self-signed-cert: only one of $crt and $key exists; delete it first" >&2
  exit 1
fi
command -v openssl >/dev/null || { echo "make-self-signed-cert: needs the openssl command" >&2; exit 1; }

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then san="$san,IP:$name"; else san="$san,DNS:$name"; fi
done

mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
  -subj "/CN=${1:-localhost}" -addext "subjectAltName=$san" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyCertSign" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$key" -out "$crt" 2>/dev/null
chmod 600 "$key"
chmod 644 "$crt"
echo "make-self-signed-cert: wrote $crt and $key (self-signed, for $san)"
