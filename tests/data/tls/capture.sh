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

# vsftpd 3.0.3 + curl: a clear FTP session on a non-standard port (for nDPI), and implicit FTPS on
# 990 with TLS 1.3 and with TLS 1.2 (the data connection resumes the control connection's TLS
# session by session ID: the tls-resumption link). Needs a user "ftpanon" with home $FTPROOT.
FTPROOT=${FTPROOT:-/tmp/ftproot}
vsftpd_run() { # name conf-extra curl-args
	name=$1; extra=$2; shift 2
	if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then return 0; fi
	mkdir -p "$FTPROOT/pub" /var/run/vsftpd/empty
	echo hello > "$FTPROOT/pub/hello.txt"
	chmod 555 "$FTPROOT"
	printf '%s\n' listen=YES listen_ipv6=NO listen_address=127.0.0.1 anonymous_enable=YES \
		"anon_root=$FTPROOT" local_enable=NO write_enable=NO pasv_min_port=50000 \
		pasv_max_port=50010 seccomp_sandbox=NO background=NO \
		secure_chroot_dir=/var/run/vsftpd/empty ftp_username=ftpanon $extra > "$W/vs.conf"
	tcpdump -i lo -U -s 0 -w "$W/$name.pcap" "tcp port 2121 or tcp port 990 or \
		tcp portrange 50000-50010" 2>/dev/null &
	tp=$!
	sleep 1
	vsftpd "$W/vs.conf" &
	vp=$!
	sleep 0.5
	curl -s --max-time 5 "$@" >/dev/null || true
	sleep 0.5
	kill $vp; wait $vp || true
	kill $tp; wait $tp || true
	cp "$W/$name.pcap" "pcap/$name.pcap"
}
TLSCONF="listen_port=990 ssl_enable=YES implicit_ssl=YES allow_anon_ssl=YES
force_anon_logins_ssl=YES force_anon_data_ssl=YES rsa_cert_file=$PWD/server.pem
rsa_private_key_file=$PWD/server.key ssl_ciphers=HIGH require_ssl_reuse=NO"
vsftpd_run ftp_plain_2121 "listen_port=2121" ftp://127.0.0.1:2121/pub/hello.txt
vsftpd_run ftps_implicit_990 "$TLSCONF" -k ftps://127.0.0.1:990/pub/hello.txt
vsftpd_run ftps_implicit_990_tls12 "$TLSCONF" -k --tls-max 1.2 ftps://127.0.0.1:990/pub/hello.txt

for f in pcap/*.pcap; do python3 extract.py "$f"; done
