#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Regenerates the test certificates (run from tests/data/tls); re-run capture.sh afterwards, since
# the recorded handshakes carry server.der / selfsigned.der. Not run by the build: the outputs
# are committed, so test expectations (subjects, dates) stay fixed.
set -eu
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# Test CA (10 years from 2025-01-01 so it covers every capture time used in tests).
key ca.key
openssl req -new -key ca.key -subj "/C=DE/O=ftpinspect test/CN=ftpinspect Test CA" -out "$D/ca.csr"
mkdir -p "$D/db/new"; : > "$D/db/index.txt"; echo 1000 > "$D/db/serial"
cat > "$D/ca.cnf" <<CNF
[ca]
default_ca = tca
[tca]
dir = $D/db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = copy
[pol]
commonName = supplied
organizationName = optional
countryName = optional
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_srv]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl ca -batch -config "$D/ca.cnf" -selfsign -keyfile ca.key -in "$D/ca.csr" -out ca.pem \
	-extensions v3_ca -startdate 20250101000000Z -enddate 20350101000000Z -notext 2>/dev/null

srv() { # name CN SAN start end
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/C=DE/O=ftpinspect test/CN=$2" \
		-addext "subjectAltName=$3" -out "$D/$1.csr"
	openssl ca -batch -config "$D/ca.cnf" -cert ca.pem -keyfile ca.key -in "$D/$1.csr" \
		-out "$1.pem" -extensions v3_srv -startdate "$4" -enddate "$5" -notext 2>/dev/null
}
srv server ftp.example.test "DNS:ftp.example.test,DNS:*.files.example.test,IP:127.0.0.1" \
	20250601000000Z 20340601000000Z
srv expired old.example.test "DNS:old.example.test" 20200101000000Z 20210101000000Z
srv future new.example.test "DNS:new.example.test" 20400101000000Z 20410101000000Z

# Self-signed leaf (x509 -days works forward; fine for a self-signed one).
key selfsigned.key
openssl req -new -x509 -key selfsigned.key -days 7300 -sha256 \
	-subj "/C=DE/O=Self Signed Ltd/CN=self.example.test" \
	-addext "subjectAltName=DNS:self.example.test" -out selfsigned.pem

for f in ca server expired future selfsigned; do
	openssl x509 -in $f.pem -outform DER -out $f.der
done

# Subject with UTF-8 and an RFC 2253 special character (escaping test).
key unicode.key
openssl req -new -x509 -utf8 -key unicode.key -days 7300 -sha256 \
	-subj "/C=DE/O=Müller\\, Co/CN=uni.example.test" -out unicode.pem
openssl x509 -in unicode.pem -outform DER -out unicode.der
