#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# live_workers.sh - `ftpinspect -i --workers 2` (an AF_PACKET fanout group of two sockets, one
# engine each, one expectation store): committed captures replayed with tcpreplay onto a veth
# link between two network namespaces give the same sessions, data connections and findings as
# reading the files (replayed at 1000 packets/s into 128 MiB buffers: the lab captures carry
# offloaded 64 KiB segments, which overflow the default buffer at top speed), and the stats line
# sums both sockets. CTest label "live".
# The sockets are spread by the unordered IP address pair (the classic-BPF fanout program of
# fanout.c): the FTPS captures' data connections (227 encrypted) can only be inferred by the
# engine holding their control session, so they check that a session's connections reach one
# worker. With FTPI_WORKERS_SHARD=conn in the environment the group uses the kernel's hash mode
# (by connection) instead, and those captures lose data connections whenever the kernel's
# (randomly seeded) flow hash puts them on the other worker.
# Needs root, `ip netns` and tcpreplay: exits 77 (skipped) otherwise. Namespaces wk-lv-*.
# Usage: live_workers.sh /path/to/ftpinspect
set -u
BIN=$(readlink -f "${1:?usage: live_workers.sh FTPINSPECT}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NS_A=wk-lv-a-$$
NS_B=wk-lv-b-$$
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root"
command -v tcpreplay >/dev/null || skip "tcpreplay not installed"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "ip netns unavailable"
WORK=$(mktemp -d /tmp/wk-live.XXXXXX)
teardown() {
    for n in $NS_A $NS_B; do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$n" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap teardown EXIT
for n in $NS_A $NS_B; do
    ip netns del "$n" 2>/dev/null
    ip netns add "$n" || skip "cannot create namespace $n"
done
ip link add $NS_A netns $NS_A type veth peer name $NS_B netns $NS_B || skip "no veth"
ip netns exec $NS_A ip link set $NS_A mtu 9000 up
ip netns exec $NS_B ip link set $NS_B mtu 9000 up
ip netns exec $NS_B ethtool -K $NS_B rx off tx off gro off >/dev/null 2>&1

FAILED=0
summary() { # sessions, data events, findings by kind (sorted), and which session (by its
    # control client port) each data connection was linked to, from JSON lines
    python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
k = lambda t: [e for e in ev if e.get("event") == t]
print("sessions", len(k("session")), "data", len(k("data")))
print(" ".join(sorted(f["kind"] for f in k("finding"))))
ctl = {e.get("session"): e["client"]["port"] for e in k("session")}
print(" ".join(sorted("%s>%s@%s" % (d["client"]["port"], d["server"]["port"],
                                    ctl.get(d.get("session"))) for d in k("data"))))' "$1"
}
# vsftpd_concurrent_sessions: 20 sessions of one client whose passive ports are reused by later
# sessions; live, the kernel spreads the data connections by connection (a data connection on
# another worker than both announcing sessions once went to the older one: an expectation met by
# another worker's connection did not rank as matched).
# The FTPS ones: their data connections can only be linked by the engine holding the control
# session (the 227 is encrypted). IPv6, one VLAN tag (the kernel moves it out of the data) and two
# (QinQ, the inner tag stays) check the fanout program's other paths: with 3 workers they land on
# another worker than 0, where a program failing on them would send them; `-i any` (Linux cooked
# headers in the capture, not in what the program reads) too. Each entry: file:N[:interface].
for entry in captures/vsftpd_data_from_other_ip:2 captures/vsftpd_active_port:2 \
             captures/vsftpd_epsv:2 captures/vsftpd_concurrent_sessions:2 \
             captures/vsftpd_ftps_tls13_curl:2 captures/vsftpd_ftps_explicit_tls12:2 \
             captures/vsftpd_ipv6:2 captures/vsftpd_plain_passive_vlan:3 \
             tests/crafted/link_qinq:3 tests/crafted/link_qinq_v6:3 \
             captures/vsftpd_ftps_tls13_curl:2:any; do
    IFS=: read -r cap n iface <<< "$entry"
    iface=${iface:-$NS_B}
    pcap=$ROOT/$cap.pcap
    "$BIN" -r "$pcap" --format json --no-progress > "$WORK/file.json" 2>/dev/null
    ip netns exec $NS_B "$BIN" -i "$iface" --allow-root --workers $n -B 131072 --format json \
        --stats > "$WORK/live.json" 2> "$WORK/live.err" &
    pid=$!
    sleep 1.5
    ip netns exec $NS_A tcpreplay -q -i $NS_A --pps=1000 "$pcap" >/dev/null 2>&1
    sleep 1.5
    kill -INT $pid
    wait $pid
    rc=$?
    if [ "$(summary "$WORK/file.json")" != "$(summary "$WORK/live.json")" ] || [ $rc != 0 ]; then
        echo "FAIL: $cap: file and live --workers $n differ (exit $rc)"
        echo "  file: $(summary "$WORK/file.json" | tr '\n' ' ')"
        echo "  live: $(summary "$WORK/live.json" | tr '\n' ' ')"
        cat "$WORK/live.err"
        FAILED=1
    else
        echo "ok: $cap: -i $iface --workers $n: $(summary "$WORK/live.json" | sed -n 1p)"
    fi
    grep -q "$n workers" "$WORK/live.err" || { echo "FAIL: no workers line"; FAILED=1; }
    if [ -z "${FTPI_WORKERS_SHARD:-}" ]; then # the host-pair program, not hash mode
        split=$(python3 "$ROOT/tests/workers/fanout_split.py" "$pcap" "$n" "$WORK/live.err") \
            || { echo "FAIL: $cap: $split"; grep -E "refused|spread" "$WORK/live.err"; FAILED=1; }
        echo "  $split"
    fi
    grep -q "dropped by kernel" "$WORK/live.err" || { echo "FAIL: no capture stats"; FAILED=1; }
done
exit $FAILED
