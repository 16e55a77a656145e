# Shared functions for the ftpinspect captures lab.  Sourced by every
# scenario script (captures/lab/scenarios/*.sh) and by make-all.sh.
#
# Everything happens inside network namespaces named ftpi-lab-* that these
# functions create, on veth links with private addresses (10.0.x.x,
# fd00::/8).  Nothing is sent anywhere else.  lab_down removes the
# namespaces, stops every process the lab started and is run from an EXIT
# trap, also on failure.

set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAP_DIR=$(cd "$LAB_DIR/.." && pwd)
PY=/usr/bin/python3
WORK=${FTPI_LAB_WORK:-/tmp/ftpi-lab}
LAB_USER=ftpilab
LAB_PASS=labpass1
LAB_USER2=ftpilab2
LAB_PASS2=labpass2

# Namespace prefix: FTPI_LAB_NS lets two people run the lab on one machine at once.
LAB_NS=${FTPI_LAB_NS:-ftpi-lab}
NS_C=$LAB_NS-cli      # client(s): 10.0.1.2, 10.0.1.3, fd00:1::2
NS_R=$LAB_NS-rtr      # router / NAT: 10.0.1.1 | 10.0.2.1 | 10.0.3.1
NS_S=$LAB_NS-srv      # server: 10.0.2.2, fd00:2::2
NS_T=$LAB_NS-thd      # third host: 10.0.3.2
NS_B=$LAB_NS-srvb     # second balanced node (lab_topo_public with two nodes): 10.0.2.22
NS_W=$LAB_NS-sw       # switch of the server segment (bridge) in lab_topo_public

LAB_PIDS=()

log() { echo "[lab ${SCEN:-}] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- packages ------------------------------------------------------------
lab_install() {
    local pkgs="vsftpd python3 python3-pyftpdlib python3-openssl lftp curl tcpdump iproute2 iptables openssl ethtool procps conntrack"
    local missing=""
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        log "installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq $missing >/dev/null
    fi
    # Debian's vsftpd package may start a system instance; the lab runs its
    # own instances inside namespaces only.
    command -v vsftpd >/dev/null || die "vsftpd missing"
}

# ---- users ---------------------------------------------------------------
lab_users() {
    for u in "$LAB_USER:$LAB_PASS" "$LAB_USER2:$LAB_PASS2"; do
        local n=${u%%:*}
        id "$n" >/dev/null 2>&1 || useradd -m -d "/var/lib/ftpi-lab/$n" -s /bin/bash "$n"
        echo "$u" | chpasswd
    done
}

# ---- namespaces ----------------------------------------------------------
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

lab_ns_clean() {
    local n
    for n in $(ip netns list | awk '{print $1}' | grep "^$LAB_NS-" || true); do
        ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del "$n" 2>/dev/null || true
    done
    rm -rf /etc/netns/"$LAB_NS"-* 2>/dev/null || true
}

mkns() {
    ip netns add "$1"
    ns "$1" ip link set lo up
    ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null || true
}

# veth NS1 IF1 NS2 IF2
veth() {
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
    ns "$1" ip link set "$2" up
    ns "$3" ip link set "$4" up
}

addr() { ns "$1" ip addr add "$3" dev "$2" $( [[ $3 == *:* ]] && echo nodad ); }

# The routed lab: client -- router -- server, router -- third host.
lab_topo_routed() {
    lab_ns_clean
    mkns $NS_C; mkns $NS_R; mkns $NS_S; mkns $NS_T
    veth $NS_C c0 $NS_R r1
    veth $NS_R r2 $NS_S s0
    veth $NS_R r3 $NS_T t0
    addr $NS_C c0 10.0.1.2/24; addr $NS_C c0 10.0.1.3/24; addr $NS_C c0 fd00:1::2/64
    addr $NS_R r1 10.0.1.1/24; addr $NS_R r1 fd00:1::1/64
    addr $NS_R r2 10.0.2.1/24; addr $NS_R r2 fd00:2::1/64
    addr $NS_R r3 10.0.3.1/24
    addr $NS_S s0 10.0.2.2/24; addr $NS_S s0 fd00:2::2/64
    addr $NS_T t0 10.0.3.2/24
    ns $NS_C ip route add default via 10.0.1.1
    ns $NS_C ip -6 route add default via fd00:1::1
    ns $NS_S ip route add default via 10.0.2.1
    ns $NS_S ip -6 route add default via fd00:2::1
    ns $NS_T ip route add default via 10.0.3.1
    ns $NS_R sysctl -qw net.ipv4.ip_forward=1
    ns $NS_R sysctl -qw net.ipv6.conf.all.forwarding=1
}

# Disable offloads so that frames carry real checksums and MTU-sized
# segments (needed where a user-space relay forwards frames).
no_offload() { ns "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true; }

# ---- processes -----------------------------------------------------------
bg_track() { LAB_PIDS+=("$1"); }

lab_down() {
    local rc=$?
    local p
    for p in "${LAB_PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    sleep 0.3
    for p in "${LAB_PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
    done
    LAB_PIDS=()
    lab_ns_clean
    return $rc
}

wait_listen() {  # NS PORT
    local i
    for i in $(seq 1 100); do
        ns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    die "nothing listening on port $2 in $1"
}

# ---- capture -------------------------------------------------------------
# cap_start NS IFACE PCAP [extra tcpdump args...]
# May be called more than once in a scenario (one tcpdump per capture point); cap_stop stops
# them all.  The first capture's statistics go to tcpdump.log, the others' to
# tcpdump-<capture name>.log.
CAP_PIDS=()
CAP_LOGS=()
cap_start() {
    local n=$1 i=$2 f=$3; shift 3
    local lf=$SCEN_WORK/tcpdump.log
    [ ${#CAP_PIDS[@]} -eq 0 ] || lf=$SCEN_WORK/tcpdump-$(basename "$f" .pcap).log
    CAP_FILE=$f
    CAP_LOG=$lf
    rm -f "$f"
    ip netns exec "$n" tcpdump -n -i "$i" -s 0 -U -w "$f" "$@" 2>"$lf" &
    CAP_PID=$!
    CAP_PIDS+=("$CAP_PID")
    CAP_LOGS+=("$lf")
    bg_track $CAP_PID
    local k
    for k in $(seq 1 50); do
        grep -q "listening on" "$lf" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.3
}

cap_stop() {
    sleep 2
    local p l
    for p in "${CAP_PIDS[@]}"; do
        kill -TERM "$p"   # (SIGINT is ignored by background jobs of a script)
        wait "$p" || true
    done
    for l in "${CAP_LOGS[@]}"; do
        cat "$l" >&2
        grep -q "^0 packets dropped by kernel" "$l" || die "tcpdump dropped packets ($l)"
        cp "$l" "$SCEN_LOGS/$(basename "$l")"
    done
    CAP_PIDS=()
    CAP_LOGS=()
}

# ---- scenario frame ------------------------------------------------------
scen_begin() {  # NAME
    SCEN=$1
    SCEN_WORK=$WORK/$SCEN
    SCEN_LOGS=$LAB_DIR/logs/$SCEN
    rm -rf "$SCEN_WORK" "$SCEN_LOGS"
    rm -f "$CAP_DIR/${SCEN}_server_side.pcap" "$CAP_DIR/${SCEN}_server_side.truth.json"
    mkdir -p "$SCEN_WORK" "$SCEN_LOGS" "$WORK/empty"
    chmod 755 "$WORK" "$WORK/empty"
    PCAP=$CAP_DIR/$SCEN.pcap
    TRUTH=$CAP_DIR/$SCEN.truth.json
    # second capture point (the server's segment behind the router), when a scenario has one
    PCAP_S=$CAP_DIR/${SCEN}_server_side.pcap
    TRUTH_S=$CAP_DIR/${SCEN}_server_side.truth.json
    trap lab_down EXIT
    lab_users
    log "begin"
}

scen_end() {
    lab_down
    trap - EXIT
    [ -s "$PCAP" ] || die "no capture written"
    [ -s "$TRUTH" ] || die "no truth written"
    $PY -m json.tool "$TRUTH" >/dev/null
    log "done: $(basename "$PCAP") $(stat -c %s "$PCAP") bytes"
    if [ -e "$PCAP_S" ]; then
        [ -s "$PCAP_S" ] || die "no server-side capture written"
        [ -s "$TRUTH_S" ] || die "no server-side truth written"
        $PY -m json.tool "$TRUTH_S" >/dev/null
        log "done: $(basename "$PCAP_S") $(stat -c %s "$PCAP_S") bytes"
    fi
}

# ---- content -------------------------------------------------------------
# mkfile PATH SIZE SEED : deterministic pseudo-random file
mkfile() {
    $PY - "$1" "$2" "$3" <<'EOF'
import random, sys
p, n, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(s)
blk = bytes(r.getrandbits(8) for _ in range(65536))
with open(p, "wb") as f:
    while n > 0:
        f.write(blk[:min(n, len(blk))]); n -= min(n, len(blk))
EOF
}

# user_root DIR : a directory the lab user can read and write, with files
user_root() {
    local d=$1
    mkdir -p "$d"
    printf 'ftpinspect lab server\nThis file is served by the captures lab.\n' > "$d/readme.txt"
    mkfile "$d/data.bin" 65536 11
    chown -R $LAB_USER:$LAB_USER "$d"
    chmod 755 "$d"
}

# ---- vsftpd --------------------------------------------------------------
# vsftpd_conf FILE [extra lines...]: a base config plus extra lines
vsftpd_conf() {
    local f=$1; shift
    cat > "$f" <<EOF
listen=YES
listen_ipv6=NO
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
local_root=$SCEN_WORK/root
dirmessage_enable=NO
use_localtime=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$SCEN_WORK/vsftpd.log
connect_from_port_20=YES
secure_chroot_dir=$WORK/empty
pam_service_name=vsftpd
seccomp_sandbox=NO
pasv_min_port=50000
pasv_max_port=50010
ftpd_banner=ftpinspect lab vsftpd
EOF
    local l
    for l in "$@"; do echo "$l" >> "$f"; done
}

# vsftpd_start NS CONF PORT [OPENSSL_CONF]
vsftpd_start() {
    local n=$1 c=$2 p=$3 oc=${4:-}
    cp "$c" "$SCEN_LOGS/vsftpd.conf"
    if [ -n "$oc" ]; then
        ip netns exec "$n" env OPENSSL_CONF="$oc" vsftpd "$c" >"$SCEN_WORK/vsftpd.stdout" 2>&1 &
        cp "$oc" "$SCEN_LOGS/openssl-server.cnf"
    else
        ip netns exec "$n" vsftpd "$c" >"$SCEN_WORK/vsftpd.stdout" 2>&1 &
    fi
    bg_track $!
    VSFTPD_PID=$!
    wait_listen "$n" "$p"
}

vsftpd_logs() {
    cp "$SCEN_WORK/vsftpd.log" "$SCEN_LOGS/vsftpd.log" 2>/dev/null || true
}

# openssl_conf FILE MIN MAX [CIPHERSTRING]
openssl_conf() {
    cat > "$1" <<EOF
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = $2
MaxProtocol = $3
CipherString = ${4:-DEFAULT:@SECLEVEL=2}
EOF
}

# ---- clients -------------------------------------------------------------
# ftpclient NS PLANJSON : run the instrumented ftplib client, log in SCEN_LOGS
ftpclient() {
    local n=$1 plan=$2
    echo "$plan" > "$SCEN_LOGS/client-plan.json"
    ns "$n" $PY "$LAB_DIR/ftpclient.py" --plan "$SCEN_LOGS/client-plan.json" \
        --log "$SCEN_LOGS/client.json" 2> >(tee "$SCEN_LOGS/client.stderr" >&2)
}

mktruth() { $PY "$LAB_DIR/mktruth.py" --out "$TRUTH" --pcap "$(basename "$PCAP")" "$@"; }

# vsftpd_tls_conf FILE CERTDIR [extra lines]: explicit FTPS, PROT P forced,
# TLS session reuse required on data connections.
vsftpd_tls_conf() {
    local f=$1 cd=$2; shift 2
    vsftpd_conf "$f" ssl_enable=YES "rsa_cert_file=$CAP_DIR/certs/$cd/server.pem" \
        "rsa_private_key_file=$CAP_DIR/certs/$cd/server.key" \
        force_local_logins_ssl=YES force_local_data_ssl=YES require_ssl_reuse=YES \
        ssl_ciphers=HIGH ssl_request_cert=NO debug_ssl=YES "$@"
}

# pyftpd_start NS PORT [pyftpd.py args...]: pyftpdlib serving $SCEN_WORK/root as LAB_USER
pyftpd_start() {
    local n=$1 p=$2; shift 2
    echo "pyftpd.py --port $p $*" > "$SCEN_LOGS/pyftpd.args"
    ip netns exec "$n" $PY "$LAB_DIR/pyftpd.py" --port "$p" --user $LAB_USER --password $LAB_PASS \
        --home "$SCEN_WORK/root" --log "$SCEN_WORK/pyftpd.log" "$@" >"$SCEN_WORK/pyftpd.stdout" 2>&1 &
    bg_track $!
    wait_listen "$n" "$p"
}
pyftpd_logs() { cp "$SCEN_WORK/pyftpd.log" "$SCEN_LOGS/pyftpd.log" 2>/dev/null || true; }

# NAT on the router: the FTP service's public address 10.0.1.100 (on r1) is
# DNATed to the server 10.0.2.2 (control 21 and passive 50000-50010) and
# masqueraded; the client cannot reach 10.0.2.0/24 except through the DNAT.
lab_nat() {
    addr $NS_R r1 10.0.1.100/24
    ns $NS_R iptables -t nat -A PREROUTING -d 10.0.1.100 -p tcp --dport 21 -j DNAT --to-destination 10.0.2.2
    ns $NS_R iptables -t nat -A PREROUTING -d 10.0.1.100 -p tcp --dport 50000:50010 -j DNAT --to-destination 10.0.2.2
    ns $NS_R iptables -t nat -A POSTROUTING -o r2 -j MASQUERADE
    ns $NS_R iptables -A FORWARD -i r1 -d 10.0.2.0/24 -m conntrack ! --ctstate DNAT -j DROP
    { ns $NS_R iptables -t nat -S; ns $NS_R iptables -S; } > "$SCEN_LOGS/router-iptables.txt"
}

# run_logged NS LOGFILE CMD... : run a real client in NS, its debug output to LOGFILE
run_logged() {
    local n=$1 lf=$2; shift 2
    echo "+ $*" > "$lf"
    ns "$n" "$@" >>"$lf" 2>&1 || { cat "$lf" >&2; die "client failed: $*"; }
}

clientlog() { $PY "$LAB_DIR/clientlog.py" "$@"; }

# Bridged lab through a user-space relay: client c0 10.0.4.2 -- [r1 relay r2] -- s0 10.0.4.3
# (router namespace has no addresses; relay.py forwards frames).  Offloads are off so frames
# are MTU-sized with real checksums.
lab_topo_relay() {
    lab_ns_clean
    mkns $NS_C; mkns $NS_R; mkns $NS_S
    local n
    for n in $NS_C $NS_R $NS_S; do ns $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1; ns $n sysctl -qw net.ipv6.conf.default.disable_ipv6=1; done
    veth $NS_C c0 $NS_R r1
    veth $NS_R r2 $NS_S s0
    addr $NS_C c0 10.0.4.2/24
    addr $NS_S s0 10.0.4.3/24
    no_offload $NS_C c0; no_offload $NS_R r1; no_offload $NS_R r2; no_offload $NS_S s0
}

# VLAN lab: client c0 10.0.6.2 -- [sw: a0 | relay tags 100 | t0 ~trunk~ t1 | relay | b0] -- s0 10.0.6.3
# The kernel here has no 8021q module, so the trunk's 802.1Q tags are added and removed by
# relay.py acting as the switch's tagging ports; frames on t0/t1 carry VLAN 100.
lab_topo_vlan() {
    lab_ns_clean
    mkns $NS_C; mkns $NS_R; mkns $NS_S
    local n
    for n in $NS_C $NS_R $NS_S; do ns $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1; ns $n sysctl -qw net.ipv6.conf.default.disable_ipv6=1; done
    veth $NS_C c0 $NS_R a0
    veth $NS_R t0 $NS_R t1
    veth $NS_R b0 $NS_S s0
    addr $NS_C c0 10.0.6.2/24
    addr $NS_S s0 10.0.6.3/24
    for n in c0; do no_offload $NS_C $n; done
    for n in a0 t0 t1 b0; do no_offload $NS_R $n; done
    no_offload $NS_S s0
    relay_start $NS_R a0 t0 --tag2 100 --log "$SCEN_LOGS/relay-a0-t0.log"
    relay_start $NS_R b0 t1 --tag2 100 --log "$SCEN_LOGS/relay-b0-t1.log"
}

relay_start() {  # NS IF1 IF2 [relay.py args]
    local n=$1 i1=$2 i2=$3; shift 3
    ip netns exec "$n" $PY "$LAB_DIR/relay.py" --if1 "$i1" --if2 "$i2" "$@" &
    bg_track $!
    RELAY_PIDS+=("$!")
    sleep 0.3
}
relay_stop() { local p; for p in "${RELAY_PIDS[@]:-}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; RELAY_PIDS=(); }
RELAY_PIDS=()

# ftpclient_bg NS PLANJSON : like ftpclient, in the background (FTPCLIENT_PID)
ftpclient_bg() {
    local n=$1 plan=$2
    echo "$plan" > "$SCEN_LOGS/client-plan.json"
    ip netns exec "$n" $PY "$LAB_DIR/ftpclient.py" --plan "$SCEN_LOGS/client-plan.json" \
        --log "$SCEN_LOGS/client.json" 2>"$SCEN_LOGS/client.stderr" &
    FTPCLIENT_PID=$!
    bg_track $FTPCLIENT_PID
}
wait_file() { local i; for i in $(seq 1 300); do [ -e "$1" ] && return 0; sleep 0.1; done; die "timeout waiting for $1"; }

# ---- both sides of a NAT router or a load balancer -------------------------
# Client segment with non-private addresses (RFC 5737 documentation range), server segment
# private, as in front of real servers:
#   client NS_C c0 198.51.100.2 -- r1 198.51.100.1 + service address 198.51.100.100 (NS_R)
#   NS_R r2 10.0.2.1 -- switch NS_W (bridge br0) -- server NS_S 10.0.2.2
#                                                 or node A NS_S 10.0.2.21 + node B NS_B 10.0.2.22
# The router only DNATs (no masquerade): the servers see the client's own address.  The two
# capture points are r1 (the client's segment) and r2 (the servers' segment), both in NS_R.
# `conntrack -E` in the router logs each connection's original and translated tuple
# (router-conntrack.log): the server-side truth takes the node a connection reached from it.
PUB_GW=198.51.100.1
PUB_CLI=198.51.100.2
PUB_VIP=198.51.100.100
lab_topo_public() {  # [two]: two nodes 10.0.2.21 / 10.0.2.22 instead of one server 10.0.2.2
    lab_ns_clean
    local n
    mkns $NS_C; mkns $NS_R; mkns $NS_W; mkns $NS_S
    [ "${1:-}" = two ] && mkns $NS_B
    for n in $NS_C $NS_R $NS_W $NS_S $( [ "${1:-}" = two ] && echo $NS_B ); do
        ns $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ns $n sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    done
    veth $NS_C c0 $NS_R r1
    veth $NS_R r2 $NS_W w0
    ns $NS_W ip link add br0 type bridge
    ns $NS_W ip link set br0 up
    ns $NS_W ip link set w0 master br0
    veth $NS_W wa $NS_S s0
    ns $NS_W ip link set wa master br0
    addr $NS_C c0 $PUB_CLI/24
    addr $NS_R r1 $PUB_GW/24
    addr $NS_R r1 $PUB_VIP/24
    addr $NS_R r2 10.0.2.1/24
    ns $NS_C ip route add default via $PUB_GW
    if [ "${1:-}" = two ]; then
        veth $NS_W wb $NS_B s0
        ns $NS_W ip link set wb master br0
        addr $NS_S s0 10.0.2.21/24
        addr $NS_B s0 10.0.2.22/24
        ns $NS_B ip route add default via 10.0.2.1
    else
        addr $NS_S s0 10.0.2.2/24
    fi
    ns $NS_S ip route add default via 10.0.2.1
    ns $NS_R sysctl -qw net.ipv4.ip_forward=1
    # nothing from the client segment reaches the servers except through the DNAT
    ns $NS_R iptables -A FORWARD -i r1 -d 10.0.2.0/24 -m conntrack ! --ctstate DNAT -j DROP
}

# lab_nat_public [helper]: 198.51.100.100 port 21 DNATed to 10.0.2.2.  Without "helper" the
# passive range 50000-50010 is DNATed as well (static port forwarding, the server must announce
# the public address itself: pasv_address / MasqueradeAddress / -P); with "helper" the Linux
# conntrack FTP helper is attached to the control connection (iptables -t raw ... -j CT
# --helper ftp): nf_nat_ftp rewrites the 227 and opens the announced port, nothing else is
# forwarded.
lab_nat_public() {
    ns $NS_R iptables -t nat -A PREROUTING -d $PUB_VIP -p tcp --dport 21 -j DNAT --to-destination 10.0.2.2
    if [ "${1:-}" = helper ]; then
        ns $NS_R iptables -t raw -A PREROUTING -d $PUB_VIP -p tcp --dport 21 -j CT --helper ftp
    else
        ns $NS_R iptables -t nat -A PREROUTING -d $PUB_VIP -p tcp --dport 50000:50010 -j DNAT --to-destination 10.0.2.2
    fi
    router_rules
}

# lab_lb [sticky]: a layer-4 balancer on the router: 198.51.100.100 ports 21 and 50000-50010
# over node A 10.0.2.21 and node B 10.0.2.22.  Without "sticky": no persistence, every second
# new connection goes to B (-m statistic --mode nth --every 2 --packet 0 -> A, else B).  With
# "sticky": DNAT to the range 10.0.2.21-10.0.2.22 --persistent (one node per client address).
lab_lb() {
    local m="-d $PUB_VIP -p tcp -m multiport --dports 21,50000:50010"
    if [ "${1:-}" = sticky ]; then
        ns $NS_R iptables -t nat -A PREROUTING $m -j DNAT --to-destination 10.0.2.21-10.0.2.22 --persistent
    else
        ns $NS_R iptables -t nat -A PREROUTING $m -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 10.0.2.21
        ns $NS_R iptables -t nat -A PREROUTING $m -j DNAT --to-destination 10.0.2.22
    fi
    router_rules
}

router_rules() {
    { ns $NS_R iptables -t raw -S; ns $NS_R iptables -t nat -S; ns $NS_R iptables -S; } > "$SCEN_LOGS/router-iptables.txt"
}

# conntrack_log_start / conntrack_log_stop: the router's conntrack events (NEW/UPDATE/DESTROY
# with original and reply tuples) to router-conntrack.log
conntrack_log_start() {
    ip netns exec $NS_R conntrack -E -o timestamp -p tcp >"$SCEN_LOGS/router-conntrack.log" 2>/dev/null &
    CT_PID=$!
    bg_track $CT_PID
    sleep 0.3
}
conntrack_log_stop() { sleep 0.5; kill -TERM $CT_PID 2>/dev/null || true; wait $CT_PID 2>/dev/null || true; }

# both_sides_start: tcpdump on the client segment ($PCAP) and on the servers' segment ($PCAP_S)
both_sides_start() {
    conntrack_log_start
    cap_start $NS_R r1 "$PCAP"
    cap_start $NS_R r2 "$PCAP_S"
}
both_sides_stop() { cap_stop; conntrack_log_stop; }

# ---- ProFTPD and pure-ftpd ---------------------------------------------------
# Debian's proftpd-core and pure-ftpd conflict with vsftpd (all three provide ftp-server), so
# the lab unpacks their Debian packages (apt-get download, dpkg-deb -x) under $LAB_DEBS and
# runs them from there; their shared libraries are installed with apt-get as usual.
LAB_DEBS=${FTPI_LAB_DEBS:-/var/lib/ftpi-lab/debs}
PROFTPD=$LAB_DEBS/usr/sbin/proftpd
PUREFTPD=$LAB_DEBS/usr/sbin/pure-ftpd
lab_install_servers() {
    local libs="libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libsodium23 libcap2 conntrack"
    local missing="" p
    for p in $libs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq $missing >/dev/null
    fi
    if [ ! -x "$PROFTPD" ] || [ ! -x "$PUREFTPD" ] || [ ! -e "$LAB_DEBS/usr/lib/proftpd/mod_tls.so" ]; then
        local d
        d=$(mktemp -d)
        (cd "$d" && apt-get download proftpd-core proftpd-mod-crypto pure-ftpd >/dev/null 2>&1) \
            || die "apt-get download proftpd-core proftpd-mod-crypto pure-ftpd failed"
        mkdir -p "$LAB_DEBS"
        for p in "$d"/*.deb; do dpkg-deb -x "$p" "$LAB_DEBS"; done
        rm -rf "$d"
    fi
    "$PROFTPD" -v >/dev/null 2>&1 || die "proftpd from $LAB_DEBS does not run"
}

# proftpd_conf FILE [extra lines...]: standalone ProFTPD, local users from /etc/shadow,
# passive 50000-50010, every command and reply logged (ExtendedLog), transfers in xferlog
proftpd_conf() {
    local f=$1; shift
    cat > "$f" <<EOF
ServerName "ftpinspect lab proftpd"
ServerType standalone
DefaultServer on
ServerIdent on "ftpinspect lab proftpd"
UseIPv6 off
Port 21
User nobody
Group nogroup
Umask 022
MaxInstances 30
PidFile $SCEN_WORK/proftpd.pid
ScoreboardFile $SCEN_WORK/proftpd.scoreboard
DelayTable none
WtmpLog off
UseReverseDNS off
RequireValidShell off
AuthOrder mod_auth_unix.c
PassivePorts 50000 50010
SystemLog $SCEN_WORK/proftpd.log
TransferLog $SCEN_WORK/xferlog
LogFormat lab "%t %a:%{remote-port} -> %L %u \"%r\" %s"
ExtendedLog $SCEN_WORK/proftpd-ext.log ALL lab
ModulePath $LAB_DEBS/usr/lib/proftpd
<Directory />
  AllowOverwrite on
</Directory>
EOF
    local l
    for l in "$@"; do echo "$l" >> "$f"; done
}

# proftpd_tls_lines CERTDIR PROTOCOLS: mod_tls, TLS required, data connections must reuse the
# control session's TLS session (ProFTPD's default)
proftpd_tls_lines() {
    printf '%s\n' "LoadModule mod_tls.c" "<IfModule mod_tls.c>" "TLSEngine on" "TLSLog $SCEN_WORK/tls.log" \
        "TLSProtocol $2" "TLSRSACertificateFile $CAP_DIR/certs/$1/server.pem" \
        "TLSRSACertificateKeyFile $CAP_DIR/certs/$1/server.key" "TLSVerifyClient off" \
        "TLSRequired on" "TLSSessionTickets on" "</IfModule>"
}

proftpd_start() {  # NS CONF
    cp "$2" "$SCEN_LOGS/proftpd.conf"
    ip netns exec "$1" "$PROFTPD" -n -c "$2" >"$SCEN_WORK/proftpd.stdout" 2>&1 &
    bg_track $!
    wait_listen "$1" 21
}
proftpd_logs() {
    local f
    for f in proftpd.log proftpd-ext.log xferlog tls.log; do
        cp "$SCEN_WORK/$f" "$SCEN_LOGS/$f" 2>/dev/null || true
    done
}

# pureftpd_start NS ADDR [pure-ftpd args...]: pure-ftpd on ADDR:21, passive 50000-50010, every
# user chrooted; LAB_USER is a virtual user (pure-pw, PureDB) whose home is $SCEN_WORK/root and
# anonymous logins (when enabled) use the system user ftp.  Transfers are logged (-O w3c);
# pure-ftpd logs the rest to syslog only, so the client's log is the session's.
pureftpd_start() {
    local n=$1 a=$2; shift 2
    local uid
    uid=$(id -u $LAB_USER)
    printf '%s\n%s\n' $LAB_PASS $LAB_PASS | "$LAB_DEBS/usr/bin/pure-pw" useradd $LAB_USER -u $uid -g "$(id -g $LAB_USER)" \
        -d "$SCEN_WORK/root" -f "$SCEN_WORK/pureftpd.passwd" >/dev/null
    "$LAB_DEBS/usr/bin/pure-pw" mkdb "$SCEN_WORK/pureftpd.pdb" -f "$SCEN_WORK/pureftpd.passwd"
    local args=(-S "$a,21" -p 50000:50010 -l "puredb:$SCEN_WORK/pureftpd.pdb" -l unix
                -O "w3c:$SCEN_WORK/pure-ftpd-xfer.log" -A -H "$@")
    echo "pure-ftpd ${args[*]}" > "$SCEN_LOGS/pure-ftpd.args"
    ip netns exec "$n" env ${PUREFTPD_OPENSSL_CONF:+OPENSSL_CONF=$PUREFTPD_OPENSSL_CONF} "$PUREFTPD" "${args[@]}" \
        >"$SCEN_WORK/pure-ftpd.stdout" 2>&1 &
    bg_track $!
    wait_listen "$n" 21
}
pureftpd_logs() { cp "$SCEN_WORK/pure-ftpd-xfer.log" "$SCEN_LOGS/" 2>/dev/null || true; }

# lb_vsftpd_start CONFFUNC [lines...]: the same vsftpd configuration (made by CONFFUNC FILE
# lines..., e.g. vsftpd_conf or "vsftpd_tls_conf_edge") on node A (NS_S, 10.0.2.21) and node B
# (NS_B, 10.0.2.22), each logging to its own vsftpd-a.log / vsftpd-b.log; LB_OPENSSL_CONF pins
# TLS versions.
lb_vsftpd_start() {
    local fn=$1; shift
    local node nsn
    for node in a b; do
        $fn "$SCEN_WORK/vsftpd-$node.conf" "$@"
        sed -i "s|^vsftpd_log_file=.*|vsftpd_log_file=$SCEN_WORK/vsftpd-$node.log|" "$SCEN_WORK/vsftpd-$node.conf"
        nsn=$NS_S; [ $node = b ] && nsn=$NS_B
        vsftpd_start $nsn "$SCEN_WORK/vsftpd-$node.conf" 21 ${LB_OPENSSL_CONF:-}
        mv "$SCEN_LOGS/vsftpd.conf" "$SCEN_LOGS/vsftpd-$node.conf"
    done
}
lb_vsftpd_logs() { cp "$SCEN_WORK"/vsftpd-a.log "$SCEN_WORK"/vsftpd-b.log "$SCEN_LOGS/" 2>/dev/null || true; }

# vsftpd_tls_conf_edge FILE [lines...]: explicit FTPS as vsftpd_tls_conf, certificate of the
# edge CA (certs/edge)
vsftpd_tls_conf_edge() { local f=$1; shift; vsftpd_tls_conf "$f" edge "$@"; }

# vsftpd_data_resumed EXPECTED LOG...: the vsftpd logs (debug_ssl) show EXPECTED data
# connections whose TLS session was reused ("reused" after the control channel's "not reused");
# prints the version,cipher they logged (for mktruth --data-tls)
vsftpd_data_resumed() {
    local want=$1; shift
    local n f logs=()
    for f in "$@"; do [ -e "$f" ] && logs+=("$f"); done   # a node nobody reached has no log
    n=$(grep -h 'SSL version: .*, reused,' "${logs[@]}" | wc -l)
    [ "$n" = "$want" ] || die "vsftpd logged $n resumed data connections, expected $want"
    grep -h 'SSL version: .*, reused,' "${logs[@]}" | head -1 | sed -E 's/.*SSL version: ([^,]+), SSL cipher: ([^,]+),.*/\1,\2/'
}

# proftpd_data_resumed EXPECTED: ProFTPD's TLSLog shows EXPECTED data connections that reused
# the control session; prints the version,cipher of its data connections (mktruth --data-tls)
proftpd_data_resumed() {
    local n
    n=$(grep -c 'client reused TLS session for data connection' "$SCEN_LOGS/tls.log" || true)
    [ "$n" = "$1" ] || die "ProFTPD logged $n resumed data connections, expected $1"
    grep -m1 'data connection accepted, using cipher' "$SCEN_LOGS/tls.log" \
        | sed -E 's/.*: (TLSv[0-9.]+) data connection accepted, using cipher ([^ ]+) .*/\1,\2/'
}

# mktruth arguments of the TLS 1.3 scenarios with the edge CA's certificate: the certificate is
# encrypted (tls_cert_not_visible), nothing weak, no certificate finding can be raised
TLS13_EDGE_TRUTH=(--options '["--ca-file","certs/edge/ca.pem"]' --finding tls_cert_not_visible=1:1
  --absent brute_force --absent nat_private_pasv --absent tls_weak_version --absent tls_weak_cipher
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch)
