#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/share.sh - what --share costs and what one Redis serves (issue 16; docs/sensors.md):
#  1. the benchmark corpus read by `ftpinspect --format json` without --share, with it, and with
#     it and --share-wait 0 (a local redis-server; one core: taskset -c 0), interleaved rounds,
#     median wall and CPU;
#  2. lookups per second one Redis serves: the corpus cut into its control half (published by
#     sensor "ctl") and its data half, read at once by 1, 2 and 4 data sensors (every unexplained
#     connection is one lookup, EVAL + HSETNX; --share-wait 0: no retries).
# Writes its block into bench/results.md between "<!-- share.sh begin/end -->" (bench/report.py
# keeps it). Not part of CI. Knobs: ROUNDS (5), BUILD_DIR (build-bench), CORPUS
# (bench/work/corpus.pcap; BENCH_MB=100 python3 bench/make_corpus.py --out ... makes one),
# REDIS_PORTS (the loopback ports tried for its redis-server, 6399 down to 6390).
# CPU is user + system time of the whole process (the I/O thread included) from wait4(), in
# microseconds; a background load (a fuzzing campaign) should be paused while it runs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
BUILD_DIR=${BUILD_DIR:-build-bench}
ROUNDS=${ROUNDS:-5}
CORPUS=${CORPUS:-$here/work/corpus.pcap}
[ -f "$CORPUS" ] || { echo "share.sh: no corpus at $CORPUS (run bench/run.sh or make_corpus.py)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "share.sh: redis-server is not installed" >&2; exit 1; }
cmake -S . -B "$BUILD_DIR" -DFTPI_BUILD_BENCH=ON -DFTPI_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target ftpinspect >/dev/null
F=$repo/$BUILD_DIR/tools/ftpinspect/ftpinspect
out=$here/work/share
mkdir -p "$out"
port=""
for p in ${REDIS_PORTS:-6399 6398 6397 6396 6395 6394 6393 6392 6391 6390}; do
	redis-cli -p "$p" ping >/dev/null 2>&1 && continue
	port=$p
	break
done
[ -n "$port" ] || { echo "share.sh: no free port among ${REDIS_PORTS:-6390-6399}" >&2; exit 1; }
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
	--pidfile "$out/redis.pid" --logfile "$out/redis.log" --dir "$out" >/dev/null
trap 'kill "$(cat "$out/redis.pid")" 2>/dev/null' EXIT INT TERM
sleep 0.5
URL=redis://127.0.0.1:$port
: >"$out/times.tsv"
run() { # name, command...
	name=$1
	shift
	python3 -c '
import os, resource, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1] + ".out", "w"),
                     stderr=open(sys.argv[1] + ".err", "w"))
_, _, ru = os.wait4(p.pid, 0)
print("%.4f %.4f %.4f %d" % (time.monotonic() - t0, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
' "$out/$name" "$@" >"$out/t"
	printf '%s\t%s\n' "$name" "$(cat "$out/t")" >>"$out/times.tsv"
}
cat "$CORPUS" >/dev/null
for r in $(seq "$ROUNDS"); do
	echo "== round $r" >&2
	redis-cli -p "$port" flushall >/dev/null
	run plain taskset -c 0 "$F" -r "$CORPUS" --format json --no-progress
	redis-cli -p "$port" flushall >/dev/null
	run share taskset -c 0 "$F" -r "$CORPUS" --format json --no-progress --stats \
		--share "$URL" --sensor bench
	redis-cli -p "$port" flushall >/dev/null
	run share_w0 taskset -c 0 "$F" -r "$CORPUS" --format json --no-progress \
		--share "$URL" --sensor bench --share-wait 0
done
grep '"event":"stats"' "$out/share.out" | tr ',' '\n' | grep share_ >"$out/share_stats.txt" || true

# lookups per second: control half published once, then N data sensors at the same time
tcpdump -r "$CORPUS" -w "$out/ctl.pcap" 'tcp port 21' 2>/dev/null
tcpdump -r "$CORPUS" -w "$out/dat.pcap" 'not tcp port 21' 2>/dev/null
: >"$out/lookups.tsv"
for n in 1 2 4; do
	redis-cli -p "$port" flushall >/dev/null
	"$F" -r "$out/ctl.pcap" --format json -q --share "$URL" --sensor ctl --share-wait 0 >/dev/null
	t0=$(date +%s.%N)
	i=1
	while [ "$i" -le "$n" ]; do
		"$F" -r "$out/dat.pcap" --format json -q --stats --share "$URL" --sensor "d$i" \
			--share-wait 0 >"$out/dat$i.out" 2>/dev/null &
		i=$((i + 1))
	done
	wait
	t1=$(date +%s.%N)
	lookups=$(cat "$out"/dat*.out | grep '"event":"stats"' | tr ',' '\n' |
		grep '"share_lookups"' | cut -d: -f2 | paste -sd+ | bc)
	claims=$(cat "$out"/dat*.out | grep '"event":"stats"' | tr ',' '\n' |
		grep '"share_claims"' | cut -d: -f2 | paste -sd+ | bc)
	printf '%s\t%s\t%s\t%s\n' "$n" "$lookups" "$claims" "$(echo "$t1 - $t0" | bc)" >>"$out/lookups.tsv"
	rm -f "$out"/dat*.out
done
python3 - "$out" "$here/results.md" "$CORPUS" <<'PY'
import os, statistics, sys
out, md, corpus = sys.argv[1:4]
rows = {}
for line in open(os.path.join(out, "times.tsv")):
    name, t = line.rstrip("\n").split("\t")
    e, u, s, m = t.split()
    rows.setdefault(name, []).append((float(e), float(u) + float(s), int(m)))
med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
           max(x[2] for x in v)) for k, v in rows.items()}
L = ["<!-- share.sh begin -->", "## --share (bench/share.sh)", "",
     "Corpus %s (%.0f MB), one core (taskset -c 0), median of %d interleaved rounds; Redis on "
     "the loopback; CPU = user + system of the whole process (wait4), the I/O thread included."
     % (os.path.basename(corpus), os.path.getsize(corpus) / 1e6, len(rows["plain"])), "",
     "| run | wall s | CPU s | max RSS KiB |", "|---|---:|---:|---:|"]
for k in ("plain", "share", "share_w0"):
    L.append("| %s | %.3f | %.3f | %d |" % ((k,) + med[k]))
L.append("")
for k, what in (("share", "with the default --share-wait 3 (the end of a file waits for answers "
                  "to the last unexplained connections, up to 3 s of wall time)"),
                ("share_w0", "with --share-wait 0 (publications and lookups only)")):
    L.append("- --share %s: %+.1f%% wall, %+.1f%% CPU (the I/O thread included)." %
             (what, 100 * (med[k][0] / med["plain"][0] - 1), 100 * (med[k][1] / med["plain"][1] - 1)))
st = open(os.path.join(out, "share_stats.txt")).read().split()
L.append("Counters of the last --share round: " + ", ".join(x.strip('"') for x in st) + ".")
L += ["", "Load average during the runs: %s (a shared machine makes the figures noisy)." %
      open("/proc/loadavg").read().split()[0]]
L += ["", "Lookups one Redis serves: the corpus' control half published by one sensor, then N "
      "data sensors reading the data half at the same time (`--share-wait 0`: one lookup per "
      "unexplained connection, EVAL of the index plus HSETNX for a claim).", "",
      "| data sensors | lookups | claims | wall s | lookups/s |", "|---:|---:|---:|---:|---:|"]
for line in open(os.path.join(out, "lookups.tsv")):
    n, lk, cl, w = line.split()
    L.append("| %s | %s | %s | %.2f | %.0f |" % (n, lk, cl, float(w), int(lk) / float(w)))
L += ["<!-- share.sh end -->"]
old = open(md).read()
b, e = "<!-- share.sh begin -->", "<!-- share.sh end -->"
if b in old and e in old:
    new = old[:old.index(b)] + "\n".join(L) + old[old.index(e) + len(e):]
else:
    new = old.rstrip("\n") + "\n\n" + "\n".join(L) + "\n"
open(md, "w").write(new)
print("\n".join(L))
PY
