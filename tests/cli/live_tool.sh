#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# live_tool.sh - how the running tool behaves on a live capture (CTest label "live"). A veth pair
# between two network namespaces (lv-ts, 10.198.0.1, where ftpinspect listens; lv-tc, 10.198.0.2,
# where tcpreplay sends a committed lab capture) checks:
#   1. a quiet link: -G 2 ends after about 2 s with no packet at all;
#   2. events reach a pipe as they happen (`ftpinspect -i ... --format json | cat`): the finding
#      is in the pipe while ftpinspect still runs;
#   3. SIGTERM: what the kernel holds is read, the open session is ended, the final capture
#      counters are printed, exit 0;
#   4. SIGHUP: -w is reopened (log rotation); both files are whole pcapng with packets;
#   5. the interface goes down and comes back: reported both ways, no spinning (CPU time stays
#      small), capture goes on and finds the session replayed afterwards;
#   6. capture drops (ftpinspect stopped while the kernel's small buffer overflows, losing the
#      data connections of a session whose PASV reply was seen): the drops are in --stats, the
#      final stderr line and a capture_loss finding, and the data_connection_missing finding
#      names them as a possible cause.
# Needs root, `ip netns` and tcpreplay: exits 77 (skipped) otherwise. Takes about 20 s.
# Usage: live_tool.sh /path/to/ftpinspect

set -u
BIN=${1:?usage: live_tool.sh FTPINSPECT}
BIN=$(readlink -f "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NS_S=lv-ts-$$
NS_C=lv-tc-$$
IF_S=lv-ts0
IF_C=lv-tc0
PY=$(command -v python3)
CAP=$ROOT/captures/vsftpd_plain_passive.pcap
MANY=$ROOT/captures/vsftpd_concurrent_sessions.pcap
ANON=$ROOT/captures/vsftpd_anonymous.pcap

# shellcheck source=netns_pair.sh
. "$HERE/netns_pair.sh"
netns_preflight
command -v tcpreplay >/dev/null || skip "tcpreplay not installed"
[ -f "$CAP" ] && [ -f "$MANY" ] && [ -f "$ANON" ] || skip "lab captures missing"

WORK=$(mktemp -d /tmp/ftpi-livetool.XXXXXX)
PIDS=()
FAILED=0

teardown() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill "$p" 2>/dev/null
    done
    netns_remove
    [ -n "${FTPI_LIVE_KEEP:-}" ] || rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 1' INT TERM

netns_pair 10.198.0

# start NAME [args...]: ftpinspect in the server namespace, JSON into NAME.json (through a
# pipe to cat when PIPE=1), stderr into NAME.err; waits for "listening on".
start() {
    local name=$1; shift
    if [ "${PIPE:-0}" = 1 ]; then
        mkfifo "$WORK/$name.fifo"
        cat "$WORK/$name.fifo" >"$WORK/$name.json" &
        PIDS+=($!)
        ip netns exec $NS_S "$BIN" -i "$IF_S" --allow-root --format json "$@" \
            >"$WORK/$name.fifo" 2>"$WORK/$name.err" &
    else
        ip netns exec $NS_S "$BIN" -i "$IF_S" --allow-root --format json "$@" \
            >"$WORK/$name.json" 2>"$WORK/$name.err" &
    fi
    PID=$!
    PIDS+=($PID)
    for _ in $(seq 1 100); do
        grep -q "listening on" "$WORK/$name.err" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "$name: ftpinspect did not start: $(cat "$WORK/$name.err")"
    return 1
}

# stop NAME SIGNAL: sends SIGNAL, waits, wants exit 0 and the counters line.
stop() {
    local name=$1 sig=$2 rc
    kill "-$sig" "$PID"
    wait "$PID"
    rc=$?
    [ $rc = 0 ] || fail "$name: exit status $rc after SIG$sig: $(cat "$WORK/$name.err")"
    grep -q "packets received by filter" "$WORK/$name.err" ||
        fail "$name: no capture counters on stderr: $(cat "$WORK/$name.err")"
}

replay() {  # FILE [tcpreplay options]
    local f=$1; shift
    ns $NS_C tcpreplay -q -i "$IF_C" "$@" "$f" >>"$WORK/tcpreplay.out" 2>&1 ||
        fail "tcpreplay failed: $(tail -3 "$WORK/tcpreplay.out")"
}

# check NAME PYTHON-EXPR over `ev` (the JSON events).
check() {
    "$PY" - "$WORK/$1.json" "$2" <<'PYEOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def kinds(): return [e["kind"] for e in ev if e["event"] == "finding"]
def sessions(): return [e for e in ev if e["event"] == "session"]
def findings(k): return [e for e in ev if e["event"] == "finding" and e["kind"] == k]
ok = eval(sys.argv[2])
if not ok:
    for e in ev[:40]:
        print("  ", json.dumps(e)[:300])
sys.exit(0 if ok else 1)
PYEOF
    [ $? = 0 ] || fail "$1: check failed: $2"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }

# ---- 1. quiet link: -G fires without packets --------------------------------------------------
t0=$(date +%s.%N)
if start quiet -G 2; then
    wait "$PID"
    rc=$?
    t=$("$PY" -c "import sys; print(round($(date +%s.%N) - $t0, 1))")
    [ $rc = 0 ] || fail "quiet: exit status $rc"
    "$PY" -c "import sys; sys.exit(0 if $t < 5 else 1)" ||
        fail "quiet: -G 2 on a quiet link took ${t} s"
fi

# ---- 2 + 3. events reach a pipe as they happen; SIGTERM drains and ends the session -----------
if PIPE=1 start stream; then
    replay "$CAP" --topspeed
    seen=0
    for _ in $(seq 1 40); do
        grep -q '"plaintext_auth"' "$WORK/stream.json" && { seen=1; break; }
        sleep 0.1
    done
    [ $seen = 1 ] || fail "stream: no finding in the pipe 4 s after the replay"
    kill -0 "$PID" 2>/dev/null || fail "stream: ftpinspect ended by itself"
    # A last replay right before SIGTERM: its packets are still in the kernel's block.
    replay "$ANON" --topspeed
    stop stream TERM
    sleep 0.2
    check stream "len(sessions()) == 2 and 'plaintext_auth' in kinds() and \
'anonymous_login' in kinds()"
fi

# ---- 4. SIGHUP reopens -w -----------------------------------------------------------------------
if start hup -w "$WORK/hup.pcapng"; then
    replay "$CAP" --topspeed
    sleep 1.5
    mv "$WORK/hup.pcapng" "$WORK/hup.1.pcapng"
    kill -HUP "$PID"
    sleep 0.3
    [ -f "$WORK/hup.pcapng" ] || fail "hup: SIGHUP did not reopen the -w file"
    replay "$CAP" --topspeed
    sleep 1.5
    stop hup INT
    "$PY" - "$WORK/hup.1.pcapng" "$WORK/hup.pcapng" <<'PYEOF' || fail "hup: bad files"
import struct, sys
for path in sys.argv[1:]:
    d = open(path, "rb").read()
    assert d[:4] == b"\x0a\x0d\x0d\x0a", path
    off = n = 0
    while off < len(d):
        t, ln = struct.unpack_from("<II", d, off)
        assert ln >= 12 and off + ln <= len(d), (path, off)
        n += t == 6
        off += ln
    print(path, n, "packets")
    assert n >= 80, (path, n)
PYEOF
fi

# ---- 5. the interface goes down and comes back ----------------------------------------------
if start updown; then
    ns $NS_S ip link set "$IF_S" down
    sleep 0.5
    c0=$(cpu_ticks "$PID")
    sleep 2.5
    c1=$(cpu_ticks "$PID")
    kill -0 "$PID" 2>/dev/null || fail "updown: ftpinspect ended when the interface went down"
    [ $((c1 - c0)) -lt 50 ] || fail "updown: $((c1 - c0)) ticks of CPU in 2.5 s while down"
    grep -q "$IF_S: the interface went down" "$WORK/updown.err" ||
        fail "updown: not reported: $(cat "$WORK/updown.err")"
    ns $NS_S ip link set "$IF_S" up
    sleep 2
    replay "$CAP" --topspeed
    sleep 1.5
    grep -q "$IF_S: the interface is up again" "$WORK/updown.err" ||
        fail "updown: coming back not reported: $(cat "$WORK/updown.err")"
    stop updown INT
    check updown "len(sessions()) == 1 and 'plaintext_auth' in kinds()"
fi

# ---- 6. drops are reported in all three places ------------------------------------------------
# The session up to its first 227 reply is captured; then, with ftpinspect stopped, a flood fills
# the kernel's small buffer and the rest of the session (its data connections) is dropped.
"$PY" - "$CAP" "$WORK/head.pcap" "$WORK/tail.pcap" <<'PYEOF' || fail "drops: cannot split $CAP"
import struct, sys
raw = open(sys.argv[1], "rb").read()
hdr, off, recs = raw[:24], 24, []
while off < len(raw):
    cl = struct.unpack_from("<I", raw, off + 8)[0]
    recs.append(raw[off:off + 16 + cl])
    off += 16 + cl
def payload(r):
    f = r[16:]
    ihl = (f[14] & 15) * 4
    doff = (f[14 + ihl + 12] >> 4) * 4
    return f[14 + ihl + doff:]
cut = next(i for i, r in enumerate(recs) if payload(r).startswith(b"227 ")) + 1
open(sys.argv[2], "wb").write(hdr + b"".join(recs[:cut]))
open(sys.argv[3], "wb").write(hdr + b"".join(recs[cut:]))
PYEOF
if start drops --stats -B 1; then
    replay "$WORK/head.pcap" --topspeed
    sleep 1.5
    kill -STOP "$PID"
    replay "$MANY" --topspeed -l 2
    replay "$WORK/tail.pcap" --topspeed
    kill -CONT "$PID"
    sleep 1.5
    stop drops INT
    n=$(sed -n 's/.* \([0-9]*\) dropped by kernel.*/\1/p' "$WORK/drops.err")
    [ "${n:-0}" -gt 0 ] || fail "drops: no kernel drops reported on stderr: $(cat "$WORK/drops.err")"
    check drops "[e for e in ev if e['event'] == 'stats'][0]['pcap_dropped'] == ${n:-0}"
    check drops "len(findings('capture_loss')) == 1 and \
'${n:-0} packets dropped by the kernel' in findings('capture_loss')[0]['message']"
    check drops "any(f['client']['ip'] == '10.0.1.2' and \
'possible cause: the capture dropped packets' in f['message'] \
for f in findings('data_connection_missing'))"
fi

if [ "$FAILED" = 0 ]; then
    echo "ok live_tool"
    exit 0
fi
for f in "$WORK"/*.err; do
    [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
done
exit 1
