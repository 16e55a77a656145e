#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/workers.sh - the --workers figures of issue 15 on the benchmark corpus (bench/run.sh makes
# it; BENCH_MB=100 python3 bench/make_corpus.py is enough): in one run, interleaved rounds of the
# bare libpcap read loop, `ftpinspect --format json` with 1 and 2 workers, and the engines alone
# on preloaded packets (ftpi_workers_bench) with 1 and 2 workers. Prints wall, CPU and max RSS
# per round and the median ratios; the speed-up of the engines alone gives the serial fraction
# (Amdahl) and the projection to 8 and 16 cores. Not part of CI. Knobs: ROUNDS (3), BUILD_DIR
# (build-bench), CORPUS (bench/work/corpus.pcap).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
BUILD_DIR=${BUILD_DIR:-build-bench}
ROUNDS=${ROUNDS:-3}
CORPUS=${CORPUS:-$here/work/corpus.pcap}
[ -f "$CORPUS" ] || { echo "workers.sh: no corpus at $CORPUS (run bench/run.sh or make_corpus.py)" >&2; exit 1; }
cmake -S . -B "$BUILD_DIR" -DFTPI_BUILD_BENCH=ON -DFTPI_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target pcap_read ftpi_workers_bench ftpinspect >/dev/null
B=$repo/$BUILD_DIR
out=$here/work/workers
mkdir -p "$out"
: >"$out/times.tsv"
run() { # name, command...
	name=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o "$out/t" "$@" >"$out/$name.out" 2>"$out/$name.err"
	printf '%s\t%s\n' "$name" "$(cat "$out/t")" >>"$out/times.tsv"
}
cat "$CORPUS" >/dev/null # into the page cache
for r in $(seq "$ROUNDS"); do
	echo "== round $r" >&2
	run pcap_read "$B/bench/pcap_read" "$CORPUS"
	run cli_w1 "$B/tools/ftpinspect/ftpinspect" -r "$CORPUS" --format json --no-progress --workers 1
	run cli_w2 "$B/tools/ftpinspect/ftpinspect" -r "$CORPUS" --format json --no-progress --workers 2
	run engines_w1 "$B/bench/ftpi_workers_bench" --workers 1 "$CORPUS"
	grep '^seconds=' "$out/engines_w1.out" | sed "s/^/engines_w1 /" >>"$out/engine_seconds"
	run engines_w2 "$B/bench/ftpi_workers_bench" --workers 2 "$CORPUS"
	grep '^seconds=' "$out/engines_w2.out" | sed "s/^/engines_w2 /" >>"$out/engine_seconds"
done
python3 - "$out" <<'PY'
import statistics, sys, os
out = sys.argv[1]
rows = {}
for line in open(os.path.join(out, "times.tsv")):
    name, t = line.rstrip("\n").split("\t")
    e, u, s, m = t.split()
    rows.setdefault(name, []).append((float(e), float(u) + float(s), int(m)))
eng = {}
for line in open(os.path.join(out, "engine_seconds")):
    name, v = line.split()
    eng.setdefault(name, []).append(float(v.split("=")[1]))
med = lambda xs: statistics.median(xs)
base = rows["pcap_read"]
bw, bc = med([r[0] for r in base]), med([r[1] for r in base])
print("| run | wall s (median) | CPU s (median) | max RSS MiB | wall / bare read | CPU / bare read |")
print("|---|---:|---:|---:|---:|---:|")
for n in ("pcap_read", "cli_w1", "cli_w2", "engines_w1", "engines_w2"):
    r = rows[n]
    w, c, m = med([x[0] for x in r]), med([x[1] for x in r]), max(x[2] for x in r) / 1024
    print(f"| {n} | {w:.2f} | {c:.2f} | {m:.0f} | {w / bw:.2f}x | {c / bc:.2f}x |")
e1, e2 = med(eng["engines_w1"]), med(eng["engines_w2"])
s = e1 / e2
f = (2 / s - 1) / (2 - 1) if s > 0 else 1
f = min(max(f, 0.0), 1.0)
proj = lambda n: 1 / (f + (1 - f) / n)
print()
print(f"engines alone (preloaded, timed loop only): 1 worker {e1:.3f} s, 2 workers {e2:.3f} s, "
      f"speed-up {s:.2f}x; serial fraction (Amdahl) {f:.3f}; projected {proj(8):.1f}x at 8 "
      f"cores, {proj(16):.1f}x at 16")
for n in ("engines_w1", "engines_w2"):
    print(f"{n}: " + ", ".join(f"{v:.3f}" for v in eng[n]))
PY
grep -h "workers:" "$out"/cli_w2.err 2>/dev/null || true
