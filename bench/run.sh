#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/run.sh - the whole benchmark: builds the bench targets, generates the corpus, times the
# bare libpcap read loop, the engine, the CLI and the peers (tshark, ndpiReader) on the same file,
# counts instructions (callgrind), max RSS (/usr/bin/time), profiles the engine (perf), runs the
# memory flood, then prints a table and writes bench/results.md. Not part of CI: a full run takes
# about 5 minutes on 2 cores. See bench/README.md.
#
#   sh bench/run.sh              # corpus from captures/ and ../shared/captures-public/
#   sh bench/run.sh FILE.pcap    # your own capture, as it is
# Environment: BENCH_MB (corpus size, 300), RUNS (10), SLOW_RUNS (3, for tshark), BUILD_DIR
# (build-bench), CORPUS_INPUT ("a.pcap b.pcap": build the corpus from these instead),
# SKIP_PEERS=1, SKIP_CALLGRIND=1, SKIP_PERF=1, NO_HYPERFINE=1 (time with the plain loop), RESULTS_MD
# (where to write the report: bench/results.md, or bench/work/results-user.md for FILE).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
BUILD_DIR=${BUILD_DIR:-build-bench}
BENCH_MB=${BENCH_MB:-300}
RUNS=${RUNS:-10}
SLOW_RUNS=${SLOW_RUNS:-3}
work=$here/work
# The default corpus writes bench/results.md; a run on your own file keeps its own results.
if [ $# -ge 1 ]; then
	out=$work/results-user
	results_md=${RESULTS_MD:-$work/results-user.md}
else
	out=$work/results
	results_md=${RESULTS_MD:-$here/results.md}
fi
mkdir -p "$work"
rm -rf "$out"
mkdir -p "$out"

say() { printf '== %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

for t in cmake python3; do
	have "$t" || { echo "run.sh: $t is required" >&2; exit 1; }
done
if [ -n "${NO_HYPERFINE:-}" ]; then
	have() { [ "$1" != hyperfine ] && command -v "$1" >/dev/null 2>&1; }
fi
if ! have hyperfine; then
	echo "run.sh: hyperfine not found (apt-get install hyperfine); using a plain loop" >&2
fi
[ -x /usr/bin/time ] ||
	{ echo "run.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }

say "build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DFTPI_BUILD_BENCH=ON -DFTPI_BUILD_TESTS=OFF >"$out/cmake.log" 2>&1 ||
	{ cat "$out/cmake.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j2 --target pcap_read ftpi_bench ftpinspect >>"$out/cmake.log" 2>&1 ||
	{ tail -30 "$out/cmake.log" >&2; exit 1; }
PCAP_READ=$repo/$BUILD_DIR/bench/pcap_read
FTPI_BENCH=$repo/$BUILD_DIR/bench/ftpi_bench
CLI=$repo/$BUILD_DIR/tools/ftpinspect/ftpinspect

# ---- corpus ----------------------------------------------------------------------------------
if [ $# -ge 1 ]; then
	corpus=$1
	printf '{"file": "%s", "user_file": true}\n' "$corpus" >"$out/corpus.json"
else
	corpus=$work/corpus.pcap
	args="--out $corpus --target-mb $BENCH_MB"
	[ -n "${CORPUS_INPUT:-}" ] && args="$args --input $CORPUS_INPUT"
	# Regenerate when the script, its arguments or the sources changed.
	stamp=$( (echo "$args"; cat "$here/make_corpus.py";
		# shellcheck disable=SC2086
		if [ -n "${CORPUS_INPUT:-}" ]; then ls -l $CORPUS_INPUT;
		else git rev-parse HEAD:captures 2>/dev/null || ls -l captures/*.pcap;
			ls -lR ../shared/captures-public 2>/dev/null; fi) |
		sha256sum | cut -c1-16)
	if [ ! -f "$corpus" ] || [ "$(cat "$corpus.stamp" 2>/dev/null)" != "$stamp" ]; then
		say "corpus ($BENCH_MB MB)"
		# shellcheck disable=SC2086
		python3 "$here/make_corpus.py" $args
		echo "$stamp" >"$corpus.stamp"
	else
		say "corpus up to date: $corpus"
	fi
	cp "$corpus.json" "$out/corpus.json"
fi
[ -f "$corpus" ] || { echo "run.sh: no file $corpus" >&2; exit 1; }
cat "$corpus" >/dev/null # into the page cache: every tool reads it from memory

# ---- tools and their commands ------------------------------------------------------------------
# name|runs|command (the command's standard output is discarded, as with > /dev/null)
{
	echo "pcap_read|$RUNS|$PCAP_READ $corpus"
	echo "ftpi_bench|$RUNS|$FTPI_BENCH $corpus"
	echo "ftpinspect_json|$RUNS|$CLI -r $corpus --format json"
	if [ -z "${SKIP_PEERS:-}" ]; then
		if have tshark; then
			echo "tshark|$SLOW_RUNS|tshark -r $corpus -Y ftp -T fields -e ftp.request.command"
		fi
		if have ndpiReader; then
			echo "ndpiReader|$RUNS|ndpiReader -i $corpus -q"
		fi
	fi
} >"$out/commands.txt"
have tshark || echo "tshark: not installed (apt-get install tshark)" >>"$out/missing.txt"
have ndpiReader ||
	echo "ndpiReader: not installed (apt-get install libndpi-bin)" >>"$out/missing.txt"

say "wall time (hyperfine)"
if have hyperfine; then
	while IFS='|' read -r name runs cmd; do
		say "  $name ($runs runs)"
		# shellcheck disable=SC2086
		hyperfine -N --warmup 1 --runs "$runs" --style none --export-json "$out/hf.$name.json" \
			-n "$name" "$cmd" </dev/null >"$out/hf.$name.log" 2>&1 ||
			{ cat "$out/hf.$name.log" >&2; exit 1; }
	done <"$out/commands.txt"
fi

# The machine is shared: wall time suffers from other jobs, CPU time (user + system) much less.
# Interleaved rounds (every tool once per round) spread the noise evenly over the tools.
say "CPU time and max RSS (/usr/bin/time, $RUNS interleaved rounds)"
r=1
while [ "$r" -le "$RUNS" ]; do
	while IFS='|' read -r name runs cmd; do
		[ "$r" -le "$runs" ] || continue
		# shellcheck disable=SC2086
		/usr/bin/time -f '%e %U %S %M' -a -o "$out/cpu.$name.txt" $cmd </dev/null >/dev/null 2>&1 ||
			echo "run.sh: $name failed in round $r" >&2
	done <"$out/commands.txt"
	r=$((r + 1))
done

say "engine counters"
"$FTPI_BENCH" "$corpus" >"$out/ftpi_bench.txt"
"$FTPI_BENCH" --preload "$corpus" >"$out/ftpi_bench_preload.txt"
"$FTPI_BENCH" --no-ndpi "$corpus" >"$out/ftpi_bench_nondpi.txt"
"$PCAP_READ" "$corpus" >"$out/pcap_read.txt"

if [ -z "${SKIP_CALLGRIND:-}" ] && have valgrind; then
	say "instructions (callgrind; about a minute)"
	for name in pcap_read ftpi_bench ftpinspect_json; do
		cmd=$(grep "^$name|" "$out/commands.txt" | cut -d'|' -f3)
		# shellcheck disable=SC2086
		valgrind --tool=callgrind --callgrind-out-file="$out/cg.$name.out" $cmd \
			</dev/null >/dev/null 2>"$out/cg.$name.log" || true
	done
	for name in ftpi_bench ftpinspect_json; do
		callgrind_annotate --inclusive=no "$out/cg.$name.out" >"$out/cg.$name.self.txt" \
			2>/dev/null || true
		callgrind_annotate --inclusive=yes "$out/cg.$name.out" >"$out/cg.$name.incl.txt" \
			2>/dev/null || true
		callgrind_annotate --tree=caller --inclusive=yes "$out/cg.$name.out" \
			>"$out/cg.$name.callers.txt" 2>/dev/null || true
	done
fi
if perf stat -e instructions true 2>&1 | grep -q 'not supported'; then
	echo "not supported on this machine (no PMU in the VM)" >"$out/perf_stat.txt"
else
	perf stat -e instructions -x, -o "$out/perf_stat.txt" "$FTPI_BENCH" "$corpus" \
		>/dev/null 2>&1 || true
fi

if [ -z "${SKIP_PERF:-}" ] && have perf; then
	say "profile (perf record, cpu-clock)"
	perf record -q -e cpu-clock -F 4000 -g -o "$out/perf.data" "$FTPI_BENCH" "$corpus" \
		>/dev/null 2>"$out/perf.log" || true
	perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio -g none \
		>"$out/perf.self.txt" 2>/dev/null || true
	perf report -i "$out/perf.data" --children --sort symbol --stdio -g none \
		>"$out/perf.children.txt" 2>/dev/null || true
fi

say "memory: flow flood under a small max_flows"
"$FTPI_BENCH" --synflood 1000000 --max-flows 1024 --trace 100000 >"$out/flood_1024.txt"
"$FTPI_BENCH" --synflood 100000 --max-flows 1024 --trace 10000 >"$out/flood_1024_small.txt"
"$FTPI_BENCH" --synflood 1000000 --trace 100000 >"$out/flood_default.txt"
"$FTPI_BENCH" --max-flows 64 --trace 50000 "$corpus" >"$out/corpus_maxflows64.txt"

say "report"
python3 "$here/report.py" "$out" "$results_md" "$repo/$BUILD_DIR"
