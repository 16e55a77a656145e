#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/live.sh - live capture under load: the benchmark corpus replayed with tcpreplay over a veth
# pair between two network namespaces, at fixed rates and at tcpreplay's top speed, captured on
# the peer by `tcpdump -w /dev/null` (the baseline, in the same run) and by `ftpinspect -i`
# in several set-ups. Records the kernel drops, the rate tcpreplay reached, and the FTP sessions
# and data connections ftpinspect found, against what it finds reading the same file. Writes
# bench/work/live/live.md and the "Live capture" section of bench/results.md.
#
#   bash bench/live.sh                 # needs root, ip netns, tcpreplay, tcpdump; ~15 min
# Environment: BENCH_MB (corpus size, 300, as bench/run.sh), BUILD_DIR (build-bench), REPS (3),
# RATES ("1000 topspeed": Mbit/s values and/or topspeed), BUFFER_KIB (65536: -B for every
# capture), VARIANTS (which ftpinspect set-ups; default "default immediate libpcap-buffer"),
# RESULTS_MD (bench/results.md). Namespaces and veth names start with "lv-b"; all are removed
# at the end.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
BUILD_DIR=${BUILD_DIR:-build-bench}
BENCH_MB=${BENCH_MB:-300}
REPS=${REPS:-3}
RATES=${RATES:-1000 topspeed}
BUFFER_KIB=${BUFFER_KIB:-65536}
VARIANTS=${VARIANTS:-default immediate libpcap-buffer}
RESULTS_MD=${RESULTS_MD:-$here/results.md}
work=$here/work
out=$work/live
NS_S=lv-bs
NS_C=lv-bc
IF_S=lv-bs0
IF_C=lv-bc0

say() { printf '== %s\n' "$*" >&2; }
die() { echo "live.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for t in ip tcpdump python3 cmake; do
	command -v $t >/dev/null || die "$t is required"
done
command -v tcpreplay >/dev/null || {
	say "installing tcpreplay (bench only)"
	apt-get install -y tcpreplay >/dev/null 2>&1 || die "tcpreplay is required"
}
mkdir -p "$out"

# The commit the measured binary is built from (recorded with the figures).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . &&
	echo " (with uncommitted changes)")
say "build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DFTPI_BUILD_BENCH=ON -DFTPI_BUILD_TESTS=OFF >"$out/cmake.log" 2>&1 ||
	{ cat "$out/cmake.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j2 --target ftpinspect >>"$out/cmake.log" 2>&1 ||
	{ tail -30 "$out/cmake.log" >&2; exit 1; }
CLI=$repo/$BUILD_DIR/tools/ftpinspect/ftpinspect

corpus=$work/corpus.pcap
if [ ! -f "$corpus" ]; then
	say "corpus ($BENCH_MB MB)"
	python3 "$here/make_corpus.py" --out "$corpus" --target-mb "$BENCH_MB" >&2 ||
		die "corpus generation failed"
fi

teardown() {
	for n in $NS_S $NS_C; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
trap teardown EXIT
trap 'exit 1' INT TERM
teardown
ip netns add $NS_S && ip netns add $NS_C || die "cannot create namespaces"
ip link add $IF_S netns $NS_S type veth peer name $IF_C netns $NS_C || die "no veth"
for p in "$NS_S $IF_S" "$NS_C $IF_C"; do
	set -- $p
	# Big enough for every frame of the corpus (GRO/TSO-sized frames in some sources).
	ip -n "$1" link set "$2" mtu 65000 up
done

# The reference: what ftpinspect finds reading the file.
say "reference: ftpinspect -r corpus"
"$CLI" -r "$corpus" --format json --no-progress >"$out/file.json" 2>"$out/file.err"
count_json() { # FILE -> "sessions data"
	python3 - "$1" <<'PY'
import json, sys
s = d = 0
for line in open(sys.argv[1]):
    if line.startswith('{"event":"session"'):
        s += 1
    elif line.startswith('{"event":"data"'):
        d += 1
print(s, d)
PY
}
read -r REF_S REF_D < <(count_json "$out/file.json")
PKTS=$(python3 -c "import json;print(json.load(open('$corpus.json')).get('packets', ''))" 2>/dev/null)
say "file: $REF_S sessions, $REF_D data connections"

# replay RATE LOGFILE: sends the corpus from the client namespace.
replay() {
	local rate=$1 log=$2
	if [ "$rate" = topspeed ]; then
		ip netns exec $NS_C tcpreplay -i $IF_C --topspeed "$corpus" >"$log" 2>&1
	else
		ip netns exec $NS_C tcpreplay -i $IF_C --mbps="$rate" "$corpus" >"$log" 2>&1
	fi
}

# wait_for FILE TEXT: until the capture says it listens.
wait_for() {
	for _ in $(seq 1 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# run_one TOOL RATE REP: one capture during one replay; prints a result row (TSV).
run_one() {
	local tool=$1 rate=$2 rep=$3 tag=$1-$2-$3 pid recv drop mbps s d
	local err=$out/$tag.err json=$out/$tag.json rl=$out/$tag.tcpreplay
	case $tool in
	tcpdump)
		ip netns exec $NS_S tcpdump -i $IF_S -B "$BUFFER_KIB" -s 262144 -w /dev/null \
			2>"$err" &
		pid=$!
		wait_for "$err" "listening on" ;;
	*)
		local extra=()
		case $tool in
		ftpinspect-immediate) extra=(--immediate -B "$BUFFER_KIB") ;;
		ftpinspect-libpcap-buffer) extra=(-B 2048) ;;
		*) extra=(-B "$BUFFER_KIB") ;;
		esac
		ip netns exec $NS_S "$CLI" -i $IF_S --allow-root --format json "${extra[@]}" \
			>"$json" 2>"$err" &
		pid=$!
		wait_for "$err" "listening on" ;;
	esac
	sleep 0.3
	replay "$rate" "$rl"
	sleep 2.5 # the last block is handed over after the 1 s read timeout
	kill -INT $pid
	wait $pid
	if [ "$tool" = tcpdump ]; then
		recv=$(awk '/packets received by filter/ {print $1}' "$err")
		drop=$(awk '/packets dropped by kernel/ {print $1}' "$err")
		s=-; d=-
	else
		recv=$(sed -n 's/.* \([0-9]*\) packets received by filter, \([0-9]*\) dropped by kernel.*/\1/p' "$err")
		drop=$(sed -n 's/.* \([0-9]*\) packets received by filter, \([0-9]*\) dropped by kernel.*/\2/p' "$err")
		read -r s d < <(count_json "$json")
		rm -f "$json"
	fi
	mbps=$(sed -n 's/.*Rated: .* Bps, \([0-9.]*\) Mbps.*/\1/p' "$rl" | head -1)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$rate" "$rep" "${recv:-?}" \
		"${drop:-?}" "${mbps:-?}" "$s" "$d"
}

tools=(tcpdump)
for v in $VARIANTS; do
	case $v in
	default) tools+=(ftpinspect) ;;
	*) tools+=("ftpinspect-$v") ;;
	esac
done
rows=$out/rows.tsv
: >"$rows"
for rate in $RATES; do
	for rep in $(seq 1 "$REPS"); do
		for tool in "${tools[@]}"; do
			say "$tool at $rate, run $rep"
			run_one "$tool" "$rate" "$rep" | tee -a "$rows" >&2
		done
	done
done

python3 - "$rows" "$out/live.md" "$REF_S" "$REF_D" "$BUFFER_KIB" "$commit$dirty" "${PKTS:-?}" \
	"$(stat -c %s "$corpus")" <<'PY'
import sys, collections, datetime, platform
rows, md, ref_s, ref_d, buf, commit, pkts, size = sys.argv[1:9]
by = collections.OrderedDict()
for line in open(rows):
    t, rate, rep, recv, drop, mbps, s, d = line.rstrip("\n").split("\t")
    by.setdefault((t, rate), []).append((recv, drop, mbps, s, d))
what = {
    "tcpdump": "`tcpdump -w /dev/null -B %s`" % buf,
    "ftpinspect": "`ftpinspect -i … --format json -B %s` (default: block delivery)" % buf,
    "ftpinspect-immediate": "`ftpinspect -i … --format json --immediate -B %s` (as shipped before)" % buf,
    "ftpinspect-libpcap-buffer": "`ftpinspect -i … --format json -B 2048` (libpcap's 2 MiB default buffer)",
}
def rng(v):
    v = [x for x in v if x not in ("?", "-", "")]
    if not v:
        return "-"
    try:
        f = sorted(float(x) for x in v)
    except ValueError:
        return "/".join(v)
    fmt = (lambda x: "%d" % x) if all(float(x).is_integer() for x in v) else (lambda x: "%.0f" % x)
    return fmt(f[0]) if f[0] == f[-1] else "%s–%s" % (fmt(f[0]), fmt(f[-1]))
out = []
out.append("## Live capture (bench/live.sh)\n")
out.append("- date: %s UTC; commit: %s; machine: %s cores (a VM shared with other work), "
           "kernel %s, libpcap with TPACKET_V3; load average at the end: %s" % (
    datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), commit,
    __import__("os").cpu_count(), platform.release(),
    " ".join(open("/proc/loadavg").read().split()[:3])))
out.append("- the corpus (`bench/work/corpus.pcap`, %s bytes, %s packets) replayed by `tcpreplay` "
           "from one network namespace over a veth pair, captured on the peer; %d runs per cell "
           "(ranges are min–max)" % (size, pkts, max(len(v) for v in by.values())))
out.append("- reading the file, ftpinspect finds %s sessions and %s data connections; the live "
           "columns count `session` and `data` events\n" % (ref_s, ref_d))
out.append("| capture | rate asked | reached (Mbit/s) | received by filter | dropped by kernel | sessions | data connections |")
out.append("|---|---|---:|---:|---:|---:|---:|")
for (t, rate), v in by.items():
    out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        what.get(t, t), "top speed" if rate == "topspeed" else rate + " Mbit/s",
        rng([x[2] for x in v]), rng([x[0] for x in v]), rng([x[1] for x in v]),
        rng([x[3] for x in v]), rng([x[4] for x in v])))
open(md, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
# Replace the section between the markers in results.md (bench/run.sh keeps it).
python3 - "$RESULTS_MD" "$out/live.md" <<'PY'
import sys, os
path, sec = sys.argv[1], open(sys.argv[2]).read()
begin, end = "<!-- live.sh begin -->", "<!-- live.sh end -->"
block = begin + "\n" + sec + end + "\n"
text = open(path).read() if os.path.exists(path) else "# ftpinspect benchmark results\n"
if begin in text and end in text:
    a, b = text.index(begin), text.index(end) + len(end)
    text = text[:a] + block.rstrip("\n") + text[b:]
else:
    text = text.rstrip("\n") + "\n\n" + block
open(path, "w").write(text)
PY
say "written: $out/live.md and $RESULTS_MD"
