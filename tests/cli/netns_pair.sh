# SPDX-License-Identifier: BSD-2-Clause
# netns_pair.sh - sourced by the live tests: the skip/fail/ns helpers, the root and `ip netns`
# preconditions, two network namespaces ($NS_S, $NS_C) joined by a veth pair ($IF_S, $IF_C) with
# PREFIX.1 on the server side and PREFIX.2 on the client side, MTU 9000, and their removal.
# The caller sets FAILED=0.

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; FAILED=1; }
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

# netns_preflight: skips (77) unless root with a working `ip netns`.
netns_preflight() {
    [ "$(id -u)" = 0 ] || skip "not root"
    command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "ip netns unavailable"
}

# netns_pair PREFIX (e.g. 10.199.0)
netns_pair() {
    local n
    for n in $NS_S $NS_C; do
        ip netns del "$n" 2>/dev/null
        ip netns add "$n" || skip "cannot create namespace $n"
        ns "$n" ip link set lo up
    done
    ip link add "$IF_S" netns $NS_S type veth peer name "$IF_C" netns $NS_C ||
        skip "no veth support"
    ns $NS_S ip addr add "$1.1/24" dev "$IF_S"
    ns $NS_C ip addr add "$1.2/24" dev "$IF_C"
    ns $NS_S ip link set "$IF_S" mtu 9000 up
    ns $NS_C ip link set "$IF_C" mtu 9000 up
}

# netns_remove: ends what runs in the namespaces and deletes them.
netns_remove() {
    local n
    for n in $NS_S $NS_C; do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$n" 2>/dev/null
    done
}
