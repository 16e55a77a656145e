#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/record_mixed.sh - records the non-FTP seed of the benchmark's mixed corpus: real traffic
# between two network namespaces, captured with tcpdump on the client's veth end.
#
#   sudo bash bench/record_mixed.sh [OUT.pcap]     # default bench/seeds/mixed.pcap
#
# What it records (about 1.7 MB, a few seconds; all of it at once, overlapping in time):
#   * HTTP bulk: downloads of 640 kB and 256 kB from python3 -m http.server, by curl;
#   * TLS bulk: downloads of 512 kB and 128 kB over TLS 1.3 (openssl s_server -WWW, curl -k);
#   * many short TCP connections: 40 HTTP/1.0 requests for a small page, 12 short TLS
#     handshakes with a small page, 8 connections refused (RST) by a closed port;
#   * UDP: 150 DNS queries and answers (A records; a small responder and client in Python,
#     the DNS wire format of RFC 1035).
# Checksum offload, TSO, GSO and GRO are turned off on the veth pair, so the packets carry
# real checksums and MTU-sized segments, as on a wire. make_corpus.py --mix copies this seed
# among the FTP sources (new addresses and ports per copy). Needs root (ip netns), tcpdump,
# curl, openssl, python3, ethtool. Namespaces and veth are named pc3-*; removed at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/seeds/mixed.pcap}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
for t in ip tcpdump curl openssl python3 ethtool; do
	command -v "$t" >/dev/null || { echo "record_mixed: $t is required" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "record_mixed: needs root (network namespaces)" >&2; exit 1; }

NS_S=pc3-srv NS_C=pc3-cli
SRV=10.203.0.1 CLI=10.203.0.2
tmp=$(mktemp -d /tmp/pc3-mixed.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS_S" 2>/dev/null || true
	ip netns del "$NS_C" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns del "$NS_S" 2>/dev/null || true
ip netns del "$NS_C" 2>/dev/null || true
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add pc3-s netns "$NS_S" type veth peer name pc3-c netns "$NS_C"
ip -n "$NS_S" addr add "$SRV/24" dev pc3-s
ip -n "$NS_C" addr add "$CLI/24" dev pc3-c
for n in "$NS_S:pc3-s" "$NS_C:pc3-c"; do
	ns=${n%%:*} dev=${n#*:}
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$dev" up
	ip netns exec "$ns" ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null 2>&1 ||
		true
done

# ---- servers -----------------------------------------------------------------------------------
mkdir -p "$tmp/www"
head -c 655360 /dev/urandom >"$tmp/www/bulk.bin"
head -c 262144 /dev/urandom >"$tmp/www/bulk2.bin"
head -c 524288 /dev/urandom >"$tmp/www/tls.bin"
head -c 131072 /dev/urandom >"$tmp/www/tls2.bin"
printf '<html><body>%s</body></html>\n' "$(head -c 600 /dev/zero | tr '\0' x)" \
	>"$tmp/www/index.html"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=www.bench.test" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

(cd "$tmp/www" && exec ip netns exec "$NS_S" python3 -m http.server 8080 --bind "$SRV" \
	>/dev/null 2>&1) &
pids+=($!)
(cd "$tmp/www" && exec ip netns exec "$NS_S" openssl s_server -quiet -WWW -accept 8443 \
	-cert "$tmp/cert.pem" -key "$tmp/key.pem" -tls1_3 >/dev/null 2>&1) &
pids+=($!)
cat >"$tmp/dns.py" <<'PY'
import socket, struct, sys
# A DNS responder: every A question gets one answer (RFC 1035 wire format).
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 17:
        continue
    qid = q[:2]
    end = 12
    while end < len(q) and q[end]:
        end += q[end] + 1
    question = q[12:end + 5]
    h = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
    name = sum(question[:end - 12]) & 0xFF
    ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes((192, 0, 2, name or 1))
    s.sendto(h + question + ans, peer)
PY
ip netns exec "$NS_S" python3 "$tmp/dns.py" "$SRV" &
pids+=($!)
sleep 1

# ---- capture and clients -------------------------------------------------------------------------
ip netns exec "$NS_C" tcpdump -i pc3-c -U -w "$tmp/rec.pcap" -s 262144 \
	"host $SRV" >/dev/null 2>"$tmp/tcpdump.log" &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
sleep 1

cat >"$tmp/dnsq.py" <<'PY'
import random, socket, struct, sys, time
# 150 A queries, one at a time, for names like host17.example.test.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
rng = random.Random(7)
for i in range(150):
    name = b"".join(bytes((len(p),)) + p for p in
                    (b"host%d" % rng.randrange(1000), b"example", b"test")) + b"\0"
    s.sendto(struct.pack(">HHHHHH", rng.randrange(65536), 0x0100, 1, 0, 0, 0) + name +
             struct.pack(">HH", 1, 1), (sys.argv[1], 53))
    try:
        s.recvfrom(512)
    except socket.timeout:
        pass
    time.sleep(0.01)
PY
run_c() { ip netns exec "$NS_C" "$@"; }
{
	run_c curl -s -o /dev/null "http://$SRV:8080/bulk.bin"
	sleep 0.3
	run_c curl -s -o /dev/null "http://$SRV:8080/bulk2.bin"
} &
c1=$!
{
	run_c curl -sk -o /dev/null "https://$SRV:8443/tls.bin"
	sleep 0.3
	run_c curl -sk -o /dev/null "https://$SRV:8443/tls2.bin"
} &
c2=$!
{
	for _ in $(seq 40); do
		run_c curl -s -0 -o /dev/null "http://$SRV:8080/index.html"
		sleep 0.03
	done
} &
c3=$!
{
	for _ in $(seq 12); do
		run_c curl -sk -o /dev/null "https://$SRV:8443/index.html"
		sleep 0.1
	done
	for _ in $(seq 8); do
		run_c curl -s -o /dev/null --max-time 1 "http://$SRV:9/" || true
		sleep 0.05
	done
} &
c4=$!
run_c python3 "$tmp/dnsq.py" "$SRV" &
c5=$!
wait "$c1" "$c2" "$c3" "$c4" "$c5"
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
cp "$tmp/rec.pcap" "$out"
echo "record_mixed: $out: $(stat -c %s "$out") bytes ($(grep -o '[0-9]* packets captured' \
	"$tmp/tcpdump.log" || echo '? packets'))" >&2
