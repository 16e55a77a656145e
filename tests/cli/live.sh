#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# live.sh - live-capture tests of ftpinspect (CTest label "live"). In a pair of network
# namespaces joined by a veth link (10.199.0.1 server, 10.199.0.2 client) it runs vsftpd and
# lftp while `ftpinspect -i` listens in the server namespace, and checks:
#   1. a complete session (login, ls, get) is reported after SIGINT, with plaintext_auth, exit 0
#      and the pcap_stats line on stderr;
#   2. SIGINT in the middle of a session (lftp sleeping) flushes the open session;
#   3. -Z nobody drops privileges after opening the interface and still reports;
#   4. a committed capture replayed with tcpreplay onto the veth gives the same findings as
#      reading the file;
#   5. deleting the interface during a session: the open session is still written, the error
#      names the interface, exit 1.
# Needs root, `ip netns`, vsftpd and lftp (tcpreplay for 4): exits 77 (skipped) otherwise.
# Nothing leaves the namespaces; everything is torn down by the EXIT trap.
# Usage: live.sh /path/to/ftpinspect

set -u
BIN=${1:?usage: live.sh FTPINSPECT}
BIN=$(readlink -f "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NS_S=ftpi-live-srv-$$
NS_C=ftpi-live-cli-$$
IF_S=ftpi-lv-s
IF_C=ftpi-lv-c
USER_NAME=ftpilive
USER_PASS=ftpi-Live-pw1
PY=$(command -v python3)

# shellcheck source=netns_pair.sh
. "$HERE/netns_pair.sh"
netns_preflight
command -v vsftpd >/dev/null || skip "vsftpd not installed"
command -v lftp >/dev/null || skip "lftp not installed"
ip netns add ftpi-live-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del ftpi-live-probe-$$

WORK=$(mktemp -d /tmp/ftpi-live.XXXXXX)
chmod 755 "$WORK"
PIDS=()
FAILED=0
USER_CREATED=0

teardown() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    sleep 0.3
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null
    done
    netns_remove
    [ "$USER_CREATED" = 1 ] && userdel "$USER_NAME" 2>/dev/null
    [ -n "${FTPI_LIVE_KEEP:-}" ] || rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 1' INT TERM

# ---- namespaces and veth -------------------------------------------------------------------
netns_pair 10.199.0
for p in "$NS_S $IF_S" "$NS_C $IF_C"; do
    set -- $p
    # Real checksums and MTU-sized segments in what the capture sees.
    ns "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1
done

# ---- FTP user and vsftpd -------------------------------------------------------------------
mkdir -p "$WORK/home" "$WORK/empty"
if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd -M -d "$WORK/home" -s /bin/bash "$USER_NAME" || skip "useradd failed"
    USER_CREATED=1
else
    # Left over from an interrupted run.
    usermod -d "$WORK/home" "$USER_NAME" || skip "test user $USER_NAME exists and is busy"
fi
echo "$USER_NAME:$USER_PASS" | chpasswd
echo "hello from the live test" >"$WORK/home/hello.txt"
chown -R "$USER_NAME" "$WORK/home"
cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
local_root=$WORK/home
dirmessage_enable=NO
xferlog_enable=NO
vsftpd_log_file=$WORK/vsftpd.log
secure_chroot_dir=$WORK/empty
pam_service_name=vsftpd
seccomp_sandbox=NO
# Sessions stay in the server namespace (so the teardown finds and ends them).
isolate=NO
isolate_network=NO
pasv_min_port=50000
pasv_max_port=50010
ftpd_banner=ftpinspect live test
CONF
ip netns exec $NS_S vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    ns $NS_S ss -Hltn "sport = :21" | grep -q . && break
    sleep 0.1
done
ns $NS_S ss -Hltn "sport = :21" | grep -q . ||
    skip "vsftpd did not start: $(cat "$WORK/vsftpd.out")"

# ---- helpers ---------------------------------------------------------------------------------
# start_inspect NAME [args...]: runs ftpinspect in the server namespace, waits for "listening".
start_inspect() {
    local name=$1; shift
    # ip netns exec execs the tool: $! is ftpinspect itself (a shell function would add a
    # subshell in between that the signals would hit instead).
    ip netns exec $NS_S "$BIN" -i "$IF_S" --format json "$@" >"$WORK/$name.json" \
        2>"$WORK/$name.err" &
    INSPECT_PID=$!
    PIDS+=($INSPECT_PID)
    for _ in $(seq 1 50); do
        grep -q "listening on" "$WORK/$name.err" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$name: ftpinspect did not start: $(cat "$WORK/$name.err")"
    return 1
}

stop_inspect() {  # NAME: SIGINT, wait, check exit 0 and the stats line
    local name=$1 rc
    kill -INT "$INSPECT_PID"
    wait "$INSPECT_PID"
    rc=$?
    [ $rc = 0 ] || fail "$name: ftpinspect exit status $rc after SIGINT: $(cat "$WORK/$name.err")"
    grep -q "packets received by filter" "$WORK/$name.err" ||
        fail "$name: no capture statistics on stderr: $(cat "$WORK/$name.err")"
}

lftp_run() {  # COMMANDS
    ns $NS_C timeout 60 lftp -u "$USER_NAME,$USER_PASS" \
        -e "set ftp:ssl-allow no; set ftp:passive-mode on; set net:max-retries 1; \
set net:timeout 10; $1; quit" 10.199.0.1 >>"$WORK/lftp.out" 2>&1
}

# check_json NAME PYTHON-EXPR: the expression over `ev` (list of event dicts) must be true.
check_json() {
    "$PY" - "$WORK/$1.json" "$2" <<'PYEOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def kinds(): return [e["kind"] for e in ev if e["event"] == "finding"]
def sessions(): return [e for e in ev if e["event"] == "session"]
ok = eval(sys.argv[2])
if not ok:
    print("events were:")
    for e in ev:
        print("  ", json.dumps(e)[:300])
sys.exit(0 if ok else 1)
PYEOF
    [ $? = 0 ] || fail "$1: check failed: $2"
}

# ---- 1. a whole session ----------------------------------------------------------------------
if start_inspect whole --allow-root; then
    lftp_run "ls; get hello.txt -o $WORK/got.txt" ||
        fail "whole: lftp failed: $(cat "$WORK/lftp.out")"
    sleep 2
    stop_inspect whole
    check_json whole \
        "any(s['user'] == '$USER_NAME' and s['login'] == 'success' for s in sessions())"
    check_json whole "'plaintext_auth' in kinds()"
    check_json whole "len([e for e in ev if e['event'] == 'data']) >= 2"
fi

# ---- 2. SIGINT in the middle of a session ----------------------------------------------------
if start_inspect midsession --allow-root; then
    ( lftp_run "ls; sleep 8" ) &
    LFTP_PID=$!
    PIDS+=($LFTP_PID)
    sleep 4
    stop_inspect midsession
    check_json midsession "any(s['user'] == '$USER_NAME' for s in sessions())"
    check_json midsession "'plaintext_auth' in kinds()"
    wait "$LFTP_PID"
fi

# ---- 3. -Z drops privileges ------------------------------------------------------------------
if start_inspect dropped -Z nobody; then
    uid=$(awk '/^Uid:/ {print $3}' "/proc/$INSPECT_PID/status")
    [ "$uid" = "$(id -u nobody)" ] || fail "dropped: effective uid $uid, want nobody's"
    lftp_run "ls" || fail "dropped: lftp failed"
    sleep 2
    stop_inspect dropped
    check_json dropped "len(sessions()) == 1"
fi

# ---- 4. tcpreplay of a committed capture equals reading the file ----------------------------
if command -v tcpreplay >/dev/null; then
    # A committed lab capture when there is one (plain FTP: no finding depends on the capture's
    # date), else our own.
    REPLAY=""
    for f in "$ROOT"/captures/vsftpd_plain_passive.pcap "$ROOT"/captures/vsftpd_*.pcap; do
        [ -f "$f" ] && { REPLAY=$f; break; }
    done
    [ -n "$REPLAY" ] || REPLAY=$HERE/data/ftp_login.pcap
    echo "replaying $REPLAY"
    "$BIN" -r "$REPLAY" --format json >"$WORK/file.json" 2>"$WORK/file.err"
    if start_inspect replay --allow-root; then
        ns $NS_C tcpreplay -q -i "$IF_C" -x 20 "$REPLAY" >"$WORK/tcpreplay.out" 2>&1 ||
            fail "replay: tcpreplay failed: $(cat "$WORK/tcpreplay.out")"
        sleep 2
        stop_inspect replay
        if ! "$PY" - "$WORK/file.json" "$WORK/replay.json" <<'PYEOF'; then
import json, sys
def kinds(p):
    return sorted(json.loads(l)["kind"] for l in open(p)
                  if l.strip() and json.loads(l)["event"] == "finding")
a, b = kinds(sys.argv[1]), kinds(sys.argv[2])
print("file:", a)
print("live:", b)
sys.exit(0 if a == b and a else 1)
PYEOF
            fail "replay: findings differ ($REPLAY)"
        fi
    fi
else
    echo "note: tcpreplay not installed; replay check skipped"
fi

# ---- 5. the interface disappears: what was seen is still written, then exit 1 ----------------
if start_inspect gone --allow-root; then
    ( lftp_run "ls; sleep 6" ) &
    LFTP_PID=$!
    PIDS+=($LFTP_PID)
    sleep 3
    ip netns exec $NS_S ip link del "$IF_S"
    for _ in $(seq 1 50); do
        kill -0 "$INSPECT_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$INSPECT_PID" 2>/dev/null; then
        fail "gone: ftpinspect still running after its interface was deleted"
        kill -INT "$INSPECT_PID"
    fi
    wait "$INSPECT_PID"
    rc=$?
    [ $rc = 1 ] || fail "gone: exit status $rc, want 1"
    grep -q "ftpinspect: $IF_S: " "$WORK/gone.err" ||
        fail "gone: no message naming the interface: $(cat "$WORK/gone.err")"
    check_json gone "any(s['user'] == '$USER_NAME' for s in sessions())"
    wait "$LFTP_PID" 2>/dev/null
fi

if [ "$FAILED" = 0 ]; then
    echo "ok live"
    exit 0
fi
for f in "$WORK"/*.err "$WORK/lftp.out" "$WORK/vsftpd.log"; do
    [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
done
exit 1
