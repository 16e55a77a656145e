#!/bin/bash
# Makes the lab's test certificates with openssl (run by make-all.sh):
#   certs/ca/ca.pem                     test CA "ftpinspect lab test CA"
#   certs/selfsigned/server.pem         self-signed, CN/SAN ftp.lab.test, 10.0.2.2
#   certs/casigned/server.pem           signed by the test CA, CN/SAN ftp.lab.test, 10.0.2.2
#   certs/expired/server.pem            signed by the test CA, valid 2020-01-01..2021-01-01
#   certs/mismatch/server.pem           signed by the test CA, CN/SAN other.lab.test only
#   certs/edge/ca.pem, certs/edge/server.pem   a second test CA ("ftpinspect lab edge CA") and
#                                       a server certificate it signed, CN ftp.lab.test, SAN the
#                                       addresses of the two-sided NAT/balancer lab and 10.0.2.2
#                                       (used by the scenarios added with ProFTPD, pure-ftpd and
#                                       the NAT/balancer lab; `certs.sh edge` makes only this set)
#   certs/edge-selfsigned/server.pem    self-signed, CN ftp.lab.test (pyftpdlib_tls_masquerade since
#                                       it is recorded at two points; `certs.sh edge-selfsigned`)
# Private keys (*.key) are made next to them and are not committed.
set -euo pipefail
C=$(cd "$(dirname "$0")/.." && pwd)/certs
days=3650
edge() {
  rm -rf "$C/edge"; mkdir -p "$C/edge"
  ( cd "$C/edge"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days $days \
      -subj "/O=ftpinspect lab/CN=ftpinspect lab edge CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/O=ftpinspect lab/CN=ftp.lab.test" 2>/dev/null
    printf 'subjectAltName=DNS:ftp.lab.test,IP:10.0.2.2,IP:10.0.2.21,IP:10.0.2.22,IP:198.51.100.100\n' > san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
      -days $days -extfile san.ext 2>/dev/null
    rm -f server.csr san.ext ca.srl
    openssl x509 -in server.pem -noout -subject -issuer -dates | sed "s|^|edge: |" )
}
edge_selfsigned() {
  rm -rf "$C/edge-selfsigned"; mkdir -p "$C/edge-selfsigned"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/edge-selfsigned/server.key" \
    -out "$C/edge-selfsigned/server.pem" -days $days -subj "/O=ftpinspect lab/CN=ftp.lab.test" \
    -addext "subjectAltName=DNS:ftp.lab.test,IP:10.0.2.2,IP:10.0.1.100" 2>/dev/null
  openssl x509 -in "$C/edge-selfsigned/server.pem" -noout -subject -issuer -dates | sed "s|^|edge-selfsigned: |"
}
if [ "${1:-}" = edge ]; then edge; exit 0; fi
if [ "${1:-}" = edge-selfsigned ]; then edge_selfsigned; exit 0; fi
rm -rf "$C"; mkdir -p "$C"/{ca,selfsigned,casigned,expired,mismatch}
cd "$C"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca/ca.key -out ca/ca.pem -days $days \
  -subj "/O=ftpinspect lab/CN=ftpinspect lab test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout selfsigned/server.key -out selfsigned/server.pem -days $days \
  -subj "/O=ftpinspect lab/CN=ftp.lab.test" \
  -addext "subjectAltName=DNS:ftp.lab.test,IP:10.0.2.2" 2>/dev/null
# CA database for `openssl ca` (needed for the back-dated expired certificate)
mkdir -p ca/db; : > ca/db/index.txt; echo 1000 > ca/db/serial
cat > ca/db/ca.cnf <<CNF
[ ca ]
default_ca = lab
[ lab ]
dir = $C/ca/db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $C/ca/ca.pem
private_key = $C/ca/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[ anything ]
organizationName = optional
commonName = supplied
CNF
sign() {  # DIR CN SAN START END
  openssl req -new -newkey rsa:2048 -nodes -keyout $1/server.key -out $1/server.csr \
    -subj "/O=ftpinspect lab/CN=$2" -addext "subjectAltName=$3" 2>/dev/null
  openssl ca -batch -config ca/db/ca.cnf -in $1/server.csr -out $1/server.pem.tmp \
    -startdate $4 -enddate $5 -notext 2>/dev/null
  openssl x509 -in $1/server.pem.tmp -out $1/server.pem
  rm -f $1/server.csr $1/server.pem.tmp
}
sign casigned ftp.lab.test "DNS:ftp.lab.test,IP:10.0.2.2" 20260101000000Z 20360101000000Z
sign expired ftp.lab.test "DNS:ftp.lab.test,IP:10.0.2.2" 20200101000000Z 20210101000000Z
sign mismatch other.lab.test "DNS:other.lab.test" 20260101000000Z 20360101000000Z
rm -rf ca/db
for d in selfsigned casigned expired mismatch; do
  openssl x509 -in $d/server.pem -noout -subject -issuer -dates | sed "s|^|$d: |"
done
edge
edge_selfsigned
