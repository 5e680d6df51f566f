#!/usr/bin/env bash
# Makes, once per state folder, what the SASL_SSL broker of scripts/stack.sh needs
# (STACK_KAFKA_SASL_SSL=1): run by stack.sh before the broker's first start, with openssl only
# (nothing downloaded).
#
#   bash scripts/stack/tls/prepare.sh <tls dir>
#
# <tls dir>/ca.pem            a self-signed CA made here (clients trust it: KAFKA_SSL_CA_FILE)
# <tls dir>/broker.p12        the broker's key and certificate (CN=localhost, SAN IP:127.0.0.1,
#                             DNS:localhost) signed by that CA, with the CA in its chain (PKCS12)
# <tls dir>/other-ca.pem      a second self-signed CA that signed nothing: a wrong CA for tests
# <tls dir>/store-password    the PKCS12 store's password
# <tls dir>/client-password   the SCRAM-SHA-512 password of the user `finance-posting`
# <tls dir>/broker-password   the SCRAM-SHA-512 password of the user `broker` (inter-broker)
# Passwords are random; files are readable by their owner only. What exists is kept.
set -euo pipefail
dir="${1:?usage: prepare.sh <tls dir>}"
[[ -f $dir/.complete ]] && exit 0
command -v openssl >/dev/null || {
  echo "openssl not found: the SASL_SSL broker makes its CA and certificate with it" >&2
  exit 1
}
umask 077
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
cd "$dir.tmp"
secret() { openssl rand -hex 24; }
secret >store-password
secret >client-password
secret >broker-password

# The CA, and a second one that signed nothing.
for ca in ca other-ca; do
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 825 -keyout "$ca.key" -out "$ca.pem" \
    -subj "/CN=finance-posting stack $ca $(date -u +%Y%m%dT%H%M%SZ)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
done
rm -f other-ca.key

# The broker's key and a certificate the CA signs for the addresses clients use.
openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>/dev/null
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >broker.ext
openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -sha256 \
  -extfile broker.ext -out broker.pem 2>/dev/null
openssl pkcs12 -export -name broker -inkey broker.key -in broker.pem -certfile ca.pem \
  -passout "file:store-password" -out broker.p12
rm -f broker.csr broker.ext ca.srl ca.key broker.key
chmod 644 ca.pem other-ca.pem broker.pem
touch .complete
cd ..
rm -rf "$dir"
mv "$dir.tmp" "$dir"
