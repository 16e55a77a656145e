#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Records the TLS handshakes used by test_tls/test_x509 on loopback (needs root for tcpdump):
# openssl s_server/s_client, one pcap per scenario, then extract.py writes <name>.c2s/.s2c.
# Not run by the build; the outputs are committed. ONLY=<name> re-records one scenario.
set -eu
cd "$(dirname "$0")"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
PORT=44400

run() { # name "server opts" client-run-1 [client-run-2]: each run is "client opts"
	name=$1; sopts=$2; shift 2
	PORT=$((PORT + 1))
	if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then return 0; fi
	n=$#
	tcpdump -i lo -U -s 0 -w "$W/$name.pcap" "tcp port $PORT" 2>/dev/null &
	tp=$!
	sleep 1
	# shellcheck disable=SC2086
	openssl s_server -accept $PORT -naccept $n -rev $sopts </dev/null >/dev/null 2>&1 &
	sp=$!
	sleep 0.5
	for c in "$@"; do
		# shellcheck disable=SC2086
		(sleep 0.5; echo hello; sleep 0.5) | openssl s_client -connect 127.0.0.1:$PORT $c \
			>/dev/null 2>&1 || true
	done
	wait $sp || true
	sleep 0.5
	kill $tp; wait $tp || true
	cp "$W/$name.pcap" "pcap/$name.pcap"
}
mkdir -p pcap
CA="-cert server.pem -key server.key -cert_chain ca.pem"
SNI="-servername ftp.example.test"
# TLS 1.2, session-ID resumption (server has tickets off).
run tls12_sid "$CA -no_ticket" "-tls1_2 $SNI -sess_out $W/s1" "-tls1_2 $SNI -sess_in $W/s1"
# TLS 1.2, session-ticket resumption.
run tls12_ticket "$CA" "-tls1_2 $SNI -sess_out $W/s2" "-tls1_2 $SNI -sess_in $W/s2"
# TLS 1.3, PSK resumption (ticket issued encrypted).
run tls13 "$CA" "-tls1_3 $SNI -sess_out $W/s3" "-tls1_3 $SNI -sess_in $W/s3"
# Self-signed certificate, TLS 1.2, no SNI.
run tls12_selfsigned "-cert selfsigned.pem -key selfsigned.key" "-tls1_2 -noservername"
# Weak: TLS 1.0 with anonymous ECDH (no certificate; needs security level 0). Debian's
# OpenSSL 3 has no 3DES/RC4/NULL-with-TLS1.0 to offer.
run tls10_anon "$CA -cipher AECDH-AES128-SHA:@SECLEVEL=0 -tls1" \
	"-tls1 -cipher AECDH-AES128-SHA:@SECLEVEL=0 $SNI"
# TLS 1.3 HelloRetryRequest: the client's first key share (X25519) is not one the server takes.
run tls13_hrr "$CA -groups P-384" "-tls1_3 $SNI -groups X25519:P-384"
for f in pcap/*.pcap; do python3 extract.py "$f"; done
