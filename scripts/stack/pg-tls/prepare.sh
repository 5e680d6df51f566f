#!/usr/bin/env bash
# Makes what the TLS Postgres of scripts/stack.sh needs (STACK_PG_TLS=1 or `pg-tls-up`), with
# openssl only (nothing downloaded). Run by stack.sh before each fresh start of that cluster.
#
#   bash scripts/stack/pg-tls/prepare.sh <dir>
#
# <dir>/ca.pem          a self-signed CA made here (clients trust it: sslrootcert)
# <dir>/server.crt/.key the server's certificate (CN=127.0.0.1, SAN IP:127.0.0.1, DNS:localhost)
#                       signed by that CA; the key is readable by its owner only
# <dir>/other-ca.pem    a second self-signed CA that signed nothing: a wrong CA for tests
# <dir>/password        the random password of the role finance_tls (owner-only)
set -euo pipefail
dir="${1:?usage: prepare.sh <dir>}"
command -v openssl >/dev/null || {
  echo "openssl not found: the TLS Postgres makes its CA and certificate with it" >&2
  exit 1
}
umask 077
mkdir -p "$dir"
cd "$dir"
rm -f ca.pem other-ca.pem server.crt server.key password
openssl rand -hex 24 >password
for ca in ca other-ca; do
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 825 -keyout "$ca.key" -out "$ca.pem" \
    -subj "/CN=finance-posting stack pg-tls $ca $(date -u +%Y%m%dT%H%M%SZ)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
done
openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -sha256 \
  -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl ca.key other-ca.key
chmod 644 ca.pem other-ca.pem server.crt
chmod 600 server.key password
