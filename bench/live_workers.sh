#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/live_workers.sh - live capture with --workers 1 and 2 (issue 15): the benchmark corpus
# replayed by tcpreplay over a veth pair between two network namespaces, first at top speed, then
# down a ladder of rates, captured on the peer by `ftpinspect -i --workers N` (one AF_PACKET
# fanout socket per worker); finds the highest rate with zero kernel drops for each worker count
# and records what each run found (sessions, data connections) against reading the file.
#
#   bash bench/live_workers.sh        # needs root, ip netns, tcpreplay
# Environment: BUILD_DIR (build-bench), CORPUS (bench/work/corpus.pcap), BUFFER_KIB (131072,
# -B per socket), RATES ("topspeed 4000 2000 1000 500 250": Mbit/s), WORKERS ("1 2"). Namespaces
# and veth names start with "wq"; all are removed at the end. Not part of CI.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
BUILD_DIR=${BUILD_DIR:-build-bench}
CORPUS=${CORPUS:-$here/work/corpus.pcap}
BUFFER_KIB=${BUFFER_KIB:-131072}
RATES=${RATES:-topspeed 4000 2000 1000 500 250}
WORKERS=${WORKERS:-1 2}
NS_S=wq-ls
NS_C=wq-lc
out=$here/work/live_workers
die() { echo "live_workers.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
command -v tcpreplay >/dev/null || die "tcpreplay is required (apt-get install tcpreplay)"
[ -f "$CORPUS" ] || die "no corpus at $CORPUS (bench/make_corpus.py)"
mkdir -p "$out"
cmake -S . -B "$BUILD_DIR" -DFTPI_BUILD_BENCH=ON -DFTPI_BUILD_TESTS=OFF >/dev/null &&
	cmake --build "$BUILD_DIR" -j2 --target ftpinspect >/dev/null || die "build failed"
CLI=$repo/$BUILD_DIR/tools/ftpinspect/ftpinspect

teardown() {
	for n in $NS_S $NS_C; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
trap teardown EXIT
teardown
ip netns add $NS_S && ip netns add $NS_C || die "cannot create namespaces"
ip link add wq-lc0 netns $NS_C type veth peer name wq-ls0 netns $NS_S || die "no veth"
for x in "$NS_C wq-lc0" "$NS_S wq-ls0"; do
	set -- $x
	# the lab captures hold offloaded segments up to 64 KiB
	ip netns exec "$1" ip link set "$2" mtu 65535 up 2>/dev/null ||
		ip netns exec "$1" ip link set "$2" mtu 9000 up
	ip netns exec "$1" ethtool -K "$2" rx off tx off gro off gso off tso off >/dev/null 2>&1
done

count() { # sessions and data events in a JSON output
	python3 -c '
import json, sys
n = {"session": 0, "data": 0}
for l in open(sys.argv[1]):
    e = json.loads(l).get("event")
    if e in n: n[e] += 1
print(n["session"], n["data"])' "$1"
}
"$CLI" -r "$CORPUS" --format json --no-progress >"$out/file.json" 2>/dev/null
read -r fs fd <<<"$(count "$out/file.json")"
echo "file: sessions $fs, data $fd"
printf '| workers | rate | replayed | kernel drops | sessions | data |\n|---:|---|---|---:|---:|---:|\n' \
	>"$out/table.md"
for w in $WORKERS; do
	best=none
	for rate in $RATES; do
		opt="--mbps=$rate"
		[ "$rate" = topspeed ] && opt=--topspeed
		ip netns exec $NS_S "$CLI" -i wq-ls0 --allow-root --workers "$w" -B "$BUFFER_KIB" \
			--format json --stats >"$out/live.json" 2>"$out/live.err" &
		pid=$!
		sleep 2
		ip netns exec $NS_C tcpreplay -i wq-lc0 $opt "$CORPUS" >"$out/replay.txt" 2>&1
		sleep 2
		kill -INT $pid
		wait $pid
		drops=$(sed -n 's/.* \([0-9][0-9]*\) dropped by kernel.*/\1/p' "$out/live.err" | head -1)
		sent=$(grep -E "Rated:" "$out/replay.txt" | head -1 | sed 's/^ *//')
		read -r ls ld <<<"$(count "$out/live.json")"
		printf '| %s | %s | %s | %s | %s | %s |\n' "$w" "$rate" "$sent" "${drops:-?}" "$ls" "$ld" |
			tee -a "$out/table.md"
		grep -h "workers:" "$out/live.err" >&2 || true
		if [ "${drops:-1}" = 0 ]; then
			best=$rate
			break
		fi
	done
	echo "workers $w: highest rate with zero kernel drops: $best" | tee -a "$out/table.md"
done
