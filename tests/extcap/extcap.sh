#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# extcap.sh - tests of the Wireshark extcap (tools/extcap/ftpinspect-extcap).
#
#   extcap.sh protocol EXTCAP   the extcap protocol answers (no root needed): interfaces, DLTs,
#                               config, errors; tshark -D lists the interfaces; a capture reads
#                               ftpinspect's config file (--config, $FTPINSPECT_CONFIG) and
#                               refuses a bad one with its file and line, as the tool does.
#   extcap.sh live EXTCAP       (root, network namespaces; CTest label "live") in namespaces
#                               ws-ext-srv / ws-ext-cli joined by a veth (10.198.0.1 server,
#                               10.198.0.2 client), vsftpd serves anonymous FTP and Python's
#                               ftplib logs in and lists a directory while:
#     1. tshark (as nobody, the extcap with CAP_NET_RAW) captures ftpinspect-ws-ext-s: the
#        pcapng carries the findings (anonymous_login on the 230, cleartext_data) and the
#        data-connection comments;
#     2. the same with tshark's capture filter and the extcap's filter option (-o
#        extcap.ftpinspect_ws_ext_s.filter:...), which together leave port 21: no
#        data-connection packets, the control channel still annotated;
#     3. the extcap run by hand as root with --drop-user nobody and --ca-file: it becomes nobody
#        once the interface is open, and the comments are in the fifo while it still runs;
#        its --config file's passive range (not vsftpd's) gives pasv_port_out_of_policy;
#        a missing CA file is refused.
# Exits 77 (skipped) when a requirement is missing. Nothing leaves the namespaces; the EXIT trap
# removes them.

set -u
MODE=${1:?usage: extcap.sh protocol|live EXTCAP}
BIN=$(readlink -f "${2:?usage: extcap.sh protocol|live EXTCAP}")
NS_S=ws-ext-srv-$$
NS_C=ws-ext-cli-$$
IF_S=ws-ext-s
IF_C=ws-ext-c
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; FAILED=1; }
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

FAILED=0
WORK=$(mktemp -d /tmp/ws-extcap.XXXXXX)
chmod 755 "$WORK"
PIDS=()
teardown() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    sleep 0.3
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null
    done
    if [ "$MODE" = live ]; then
        for n in $NS_S $NS_C; do
            ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
            ip netns del "$n" 2>/dev/null
        done
    fi
    [ -n "${FTPI_EXTCAP_KEEP:-}" ] || rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 1' INT TERM

# An extcap folder with a copy of the binary; tshark finds it through WIRESHARK_EXTCAP_DIR, which
# Wireshark ignores for root: as root, tshark runs as nobody.
mkdir -p "$WORK/extcap" "$WORK/home" "$WORK/out"
cp "$BIN" "$WORK/extcap/ftpinspect-extcap"
chmod 755 "$WORK/extcap" "$WORK/extcap/ftpinspect-extcap" "$WORK/home"
chmod 777 "$WORK/out"
as_user() {
    if [ "$(id -u)" = 0 ]; then
        "${NOBODY[@]}" env HOME="$WORK/home" WIRESHARK_EXTCAP_DIR="$WORK/extcap" "$@"
    else
        env HOME="$WORK/home" WIRESHARK_EXTCAP_DIR="$WORK/extcap" "$@"
    fi
}

# ---- protocol ----------------------------------------------------------------------------------
if [ "$MODE" = protocol ]; then
    out=$("$BIN" --extcap-interfaces --extcap-version=4.0)
    echo "$out" | head -1 | grep -q '^extcap {version=[0-9.]*}' ||
        fail "--extcap-interfaces: no extcap line: $out"
    echo "$out" | grep -q '^interface {value=ftpinspect-lo}{display=ftpinspect: lo' ||
        fail "--extcap-interfaces: no ftpinspect-lo: $out"
    echo "$out" | grep -Eq 'value=ftpinspect-(usbmon|dbus|nf)' &&
        fail "--extcap-interfaces lists non-IP interfaces: $out"
    out=$("$BIN" --extcap-dlts --extcap-interface ftpinspect-lo)
    echo "$out" | grep -Eq '^dlt \{number=[0-9]+\}\{name=[A-Z0-9_]+\}\{display=' ||
        fail "--extcap-dlts: $out"
    "$BIN" --extcap-dlts --extcap-interface lo >/dev/null 2>&1 &&
        fail "--extcap-dlts accepts an interface without the ftpinspect- prefix"
    out=$("$BIN" --extcap-config --extcap-interface ftpinspect-lo)
    for call in --filter --ca-file --drop-user --config; do
        echo "$out" | grep -q "^arg {number=[0-9]}{call=$call}" ||
            fail "--extcap-config: no $call: $out"
    done
    "$BIN" --capture --extcap-interface ftpinspect-lo >/dev/null 2>&1
    [ $? = 2 ] || fail "--capture without --fifo: want exit 2"
    err=$("$BIN" --capture --extcap-interface ftpinspect-lo --fifo "$WORK/out/x" --allow-root \
        --extcap-capture-filter 'tcp port' 2>&1)
    [ $? = 2 ] && echo "$err" | grep -q "bad filter" || fail "bad filter: $err"
    if [ "$(id -u)" = 0 ]; then
        err=$("$BIN" --capture --extcap-interface ftpinspect-lo --fifo "$WORK/out/x" 2>&1)
        [ $? = 2 ] && echo "$err" | grep -q "refusing to capture as root" ||
            fail "root without --drop-user: $err"
    fi
    "$BIN" --help | grep -q -- "--extcap-interfaces" || fail "--help"
    # The config file ftpinspect reads: its errors name file and line, its settings apply (the
    # CA file and the user are checked before the interface is opened).
    cap=(--capture --extcap-interface ftpinspect-lo --fifo "$WORK/out/x" --allow-root)
    printf '[policy]\npassive-range = 50000-50100\nno-such-key = 1\n' >"$WORK/bad.conf"
    err=$("$BIN" "${cap[@]}" --config "$WORK/bad.conf" 2>&1)
    [ $? = 2 ] && echo "$err" | grep -q "bad.conf:3: unknown key 'no-such-key'" ||
        fail "--config with a bad key: $err"
    printf '[review]\nca-file = %s\n' "$WORK/no-such-ca.pem" >"$WORK/ca.conf"
    err=$("$BIN" "${cap[@]}" --config "$WORK/ca.conf" 2>&1)
    [ $? = 2 ] && echo "$err" | grep -q "CA file $WORK/no-such-ca.pem" ||
        fail "--config's ca-file is not used: $err"
    err=$(FTPINSPECT_CONFIG="$WORK/ca.conf" "$BIN" "${cap[@]}" 2>&1)
    [ $? = 2 ] && echo "$err" | grep -q "CA file $WORK/no-such-ca.pem" ||
        fail "\$FTPINSPECT_CONFIG (the tool's default file) is not read: $err"
    printf 'user = ftpi-no-such-user\n' >"$WORK/user.conf"
    err=$("$BIN" --capture --extcap-interface ftpinspect-lo --fifo "$WORK/out/x" \
        --config "$WORK/user.conf" 2>&1)
    [ $? = 2 ] && echo "$err" | grep -q "ftpi-no-such-user: no such user" ||
        fail "--config's user (-Z) is not used: $err"
    err=$("$BIN" "${cap[@]}" --config "$WORK/user.conf" --ca-file "$WORK/no-such-ca.pem" \
        --drop-user nobody 2>&1)
    [ $? = 2 ] && echo "$err" | grep -q "CA file" && ! echo "$err" | grep -q "no such user" ||
        fail "the command line does not win over --config: $err"
    if command -v tshark >/dev/null; then
        out=$(cd "$WORK/home" && as_user tshark -D 2>&1)
        echo "$out" | grep -q 'ftpinspect-lo (ftpinspect: lo' || fail "tshark -D: $out"
    fi
    [ $FAILED = 0 ] && echo "ok extcap protocol"
    exit $FAILED
fi

# ---- live --------------------------------------------------------------------------------------
[ "$MODE" = live ] || { echo "usage: extcap.sh protocol|live EXTCAP"; exit 2; }
[ "$(id -u)" = 0 ] || skip "not root"
for c in ip vsftpd tshark setcap setpriv python3; do
    command -v $c >/dev/null || skip "$c not installed"
done
id ftp >/dev/null 2>&1 || skip "no ftp user (vsftpd's anonymous account)"
ip netns add ws-ext-probe 2>/dev/null || skip "cannot create network namespaces"
ip netns del ws-ext-probe
setcap cap_net_raw,cap_net_admin+ep "$WORK/extcap/ftpinspect-extcap" 2>/dev/null ||
    skip "cannot set file capabilities in $WORK"

for n in $NS_S $NS_C; do
    ip netns del "$n" 2>/dev/null
    ip netns add "$n" || skip "cannot create namespace $n"
    ns "$n" ip link set lo up
done
ip link add "$IF_S" netns $NS_S type veth peer name "$IF_C" netns $NS_C || skip "no veth support"
ns $NS_S ip addr add 10.198.0.1/24 dev "$IF_S"
ns $NS_C ip addr add 10.198.0.2/24 dev "$IF_C"
ns $NS_S ip link set "$IF_S" up
ns $NS_C ip link set "$IF_C" up

mkdir -p "$WORK/anon/pub" "$WORK/empty"
echo "hello from the extcap test" >"$WORK/anon/pub/hello.txt"
chmod -R 755 "$WORK/anon"
cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
background=NO
anonymous_enable=YES
no_anon_password=NO
anon_root=$WORK/anon
local_enable=NO
write_enable=NO
dirmessage_enable=NO
xferlog_enable=NO
vsftpd_log_file=$WORK/vsftpd.log
secure_chroot_dir=$WORK/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
pasv_min_port=50000
pasv_max_port=50010
ftpd_banner=ftpinspect extcap test
CONF
ns $NS_S vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    ns $NS_S ss -Hltn "sport = :21" | grep -q . && break
    sleep 0.1
done
ns $NS_S ss -Hltn "sport = :21" | grep -q . || skip "vsftpd did not start: $(cat "$WORK/vsftpd.out")"

ftp_session() {
    ns $NS_C python3 - <<'PY'
import ftplib
f = ftplib.FTP("10.198.0.1", timeout=10)
f.login("anonymous", "extcap@example.org")
f.set_pasv(True)
f.retrlines("LIST pub", lambda line: None)
f.quit()
PY
}

# frames FILE FILTER: frame numbers of FILE that match the display filter.
frames() { tshark -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | tr '\n' ' '; }

# wait_extcap: waits (up to 20 s) until an extcap in the server namespace writes to its fifo.
wait_extcap() {
    local i p
    for i in $(seq 1 100); do
        for p in $(ip netns pids $NS_S 2>/dev/null); do
            [ "$(cat /proc/$p/comm 2>/dev/null)" = ftpinspect-extc ] || continue
            ls -l /proc/$p/fd 2>/dev/null | grep -q extcap && { sleep 0.5; return 0; }
        done
        sleep 0.2
    done
    return 1
}

# tshark_capture NAME [tshark args...]: tshark as nobody in the server namespace for 12 s while
# the client runs one session once the extcap is capturing.
tshark_capture() {
    local name=$1; shift
    (cd "$WORK/home" && ns $NS_S "${NOBODY[@]}" env HOME="$WORK/home" \
        WIRESHARK_EXTCAP_DIR="$WORK/extcap" tshark -i "ftpinspect-$IF_S" -a duration:12 \
        -w "$WORK/out/$name.pcapng" "$@" >"$WORK/$name.tshark" 2>&1) &
    local t=$!
    wait_extcap || fail "$name: the extcap did not start: $(cat "$WORK/$name.tshark")"
    ftp_session >"$WORK/$name.client" 2>&1 || fail "$name: FTP session failed: $(cat "$WORK/$name.client")"
    wait $t || fail "$name: tshark failed: $(cat "$WORK/$name.tshark")"
}

# 1. tshark -i ftpinspect-IF
tshark_capture plain
f="$WORK/out/plain.pcapng"
ok=$(frames "$f" 'ftp.response.code == 230')
anon=$(frames "$f" 'frame.comment contains "ftpinspect: anonymous_login"')
[ -n "$ok" ] && [ "$anon" = "$ok" ] || fail "1: anonymous_login comment on [$anon], the 230 is [$ok]"
[ -n "$(frames "$f" 'frame.comment contains "ftpinspect: cleartext_data"')" ] ||
    fail "1: no cleartext_data comment"
[ -n "$(frames "$f" 'frame.comment contains "data connection opened"')" ] ||
    fail "1: no 'data connection opened' comment"
[ -n "$(frames "$f" 'tcp.port in {50000..50010}')" ] || fail "1: no data connection"
echo "1: $(tshark -r "$f" 2>/dev/null | wc -l) packets, anonymous_login on frame $anon"

# 2. tshark's capture filter and the extcap's own filter option both reach the extcap (both
#    must match: together they leave the control channel only)
tshark_capture filtered -f "tcp port 21 or tcp portrange 50000-50010" \
    -o "extcap.ftpinspect_${IF_S//-/_}.filter:tcp port 21"
f="$WORK/out/filtered.pcapng"
bad=$(frames "$f" 'tcp.port in {50000..50010}')
[ -z "$bad" ] || fail "2: data packets pass the filters: frames $bad of
$(tshark -r "$f" 2>&1 | head -40)"
[ -n "$(frames "$f" 'tcp.port == 21')" ] || fail "2: no control packets"
[ -n "$(frames "$f" 'frame.comment contains "ftpinspect: anonymous_login"')" ] ||
    fail "2: no anonymous_login comment with the filter"
[ -n "$(frames "$f" 'frame.comment contains "data connection announced"')" ] ||
    fail "2: no 'data connection announced' comment with the filter"

# 3. by hand as root: --drop-user, --ca-file, comments while it runs
fifo="$WORK/out/direct.pcapng"
# ip netns exec execs the extcap: $! is the extcap itself (the ns function would add a shell).
printf '[policy]\npassive-range = 40000-40010\n' >"$WORK/policy.conf"
ip netns exec $NS_S "$BIN" --capture --extcap-interface "ftpinspect-$IF_S" --fifo "$fifo" \
    --drop-user nobody --ca-file /etc/ssl/certs/ca-certificates.crt \
    --config "$WORK/policy.conf" >"$WORK/direct.err" 2>&1 &
pid=$!
PIDS+=($pid)
for _ in $(seq 1 100); do
    [ -s "$fifo" ] && break # the SHB is written once the interface is open and -Z done
    sleep 0.1
done
uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' /proc/$pid/status 2>/dev/null)
[ "$uid" = "65534655346553465534" ] || fail "3: --drop-user nobody: uids $uid ($(cat "$WORK/direct.err"))"
ftp_session >"$WORK/direct.client" 2>&1 || fail "3: FTP session failed"
sleep 1
kill -0 $pid 2>/dev/null || fail "3: the extcap ended early: $(cat "$WORK/direct.err")"
cp "$fifo" "$WORK/snapshot.pcapng"
[ -n "$(frames "$WORK/snapshot.pcapng" 'frame.comment contains "ftpinspect: anonymous_login"')" ] ||
    fail "3: the comment is not in the fifo while the capture runs"
[ -n "$(frames "$WORK/snapshot.pcapng" 'frame.comment contains "ftpinspect: pasv_port_out_of_policy"')" ] ||
    fail "3: --config's passive-range gave no pasv_port_out_of_policy comment"
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 0 ] || fail "3: exit $rc after SIGTERM: $(cat "$WORK/direct.err")"
err=$(timeout 20 ip netns exec $NS_S "$BIN" --capture --extcap-interface "ftpinspect-$IF_S" \
    --fifo "$WORK/out/x" --allow-root --ca-file "$WORK/no-such-ca.pem" 2>&1)
[ $? = 2 ] && echo "$err" | grep -q "CA file" || fail "3: a missing CA file is accepted: $err"

[ $FAILED = 0 ] && echo "ok extcap live"
exit $FAILED
