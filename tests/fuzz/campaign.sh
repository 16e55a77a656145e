#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A fuzzing campaign: every libFuzzer target of a fuzz build runs for SECONDS on all cores
# (-fork=JOBS), starting from its committed corpus (corpus/<target>/) and the seeds
# make_seeds.py writes from the captures, with its dictionary (dicts.txt). Afterwards the new
# inputs are merged into corpus/<target>/ (-merge=1: only inputs that add coverage), crash inputs
# are kept under WORK/crashes/<target>/, and a table (target, runs, execs/s, coverage, crashes)
# is appended to tests/fuzz/RESULTS.md.
#
#   tests/fuzz/campaign.sh [-t SECONDS] [-r RUNS] [-j JOBS] [-b BUILD] [-w WORK] [-n] [target...]
#     -t  seconds per target (default 600)       -j  parallel jobs (default: nproc)
#     -r  go on in steps of SECONDS until the target has run RUNS inputs (libFuzzer's count)
#     -b  fuzz build dir (default build-asan: clang, FTPI_BUILD_FUZZERS=ON, ASan+UBSan)
#     -w  work dir (default /tmp/ftpi-campaign)  -n  do not merge into corpus/ or write RESULTS.md
# A crash input found here becomes a regression case: copy it into corpus/<target>/ under a name
# that says what it was (crash-<what>), so fuzz.replay.<target> replays it on every build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=600
want=0
jobs=$(nproc)
build=$root/build-asan
work=/tmp/ftpi-campaign
commit=1
while getopts t:r:j:b:w:n o; do
	case $o in
	t) secs=$OPTARG ;;
	r) want=$OPTARG ;;
	j) jobs=$OPTARG ;;
	b) build=$(cd "$OPTARG" && pwd) ;;
	w) work=$OPTARG ;;
	n) commit=0 ;;
	*) sed -n '2,17p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
	for f in "$build"/tests/fuzz/fuzz_*; do
		case $f in *_replay) continue ;; esac
		[ -x "$f" ] && set -- "$@" "$(basename "$f")"
	done
fi
[ $# -gt 0 ] || { echo "campaign: no fuzz targets in $build/tests/fuzz (build with -DFTPI_BUILD_FUZZERS=ON)" >&2; exit 2; }

mkdir -p "$work"
rm -rf "$work/seeds"
if command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
	/usr/bin/python3 "$here/make_seeds.py" "$work/seeds"
else
	echo "campaign: scapy not found, running without capture seeds" >&2
fi

rows=""
for t in "$@"; do
	bin=$build/tests/fuzz/$t
	corpus=$here/corpus/$t
	mkdir -p "$corpus" "$work/$t/new" "$work/crashes/$t"
	dict=$(awk -v t="$t" '$1 == t { print $2 }' "$here/dicts.txt")
	set -- -fork="$jobs" -max_total_time="$secs" -ignore_crashes=1 -ignore_ooms=1 \
		-ignore_timeouts=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-artifact_prefix="$work/crashes/$t/"
	[ -n "$dict" ] && set -- "$@" -dict="$here/dict/$dict"
	seeds=""
	[ -d "$work/seeds/$t" ] && seeds=$work/seeds/$t
	# Steps of SECS seconds (one unless -r asks for a number of runs); every step starts from
	# the inputs the earlier ones found. Fork mode's status lines:
	# "#RUNS: cov: C ft: F corp: N exec/s: E oom/timeout/crash: ... time: Ts ..."
	runs=0 elapsed=0 cov0="" cov="" step=0
	: >"$work/$t.log"
	while :; do
		step=$((step + 1))
		echo "== $t: step $step, ${secs}s on $jobs jobs (runs so far $runs)"
		# shellcheck disable=SC2086
		ASAN_OPTIONS=detect_leaks=1 "$bin" "$@" "$work/$t/new" "$corpus" $seeds \
			>"$work/$t.step.log" 2>&1 || true
		cat "$work/$t.step.log" >>"$work/$t.log"
		last=$(grep -E '^#[0-9]+: cov: ' "$work/$t.step.log" | tail -1)
		first=$(grep -E '^#[0-9]+: cov: ' "$work/$t.step.log" | head -1)
		r=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
		s=$(echo "$last" | sed -n 's/.* time: \([0-9]*\)s.*/\1/p')
		[ -n "$cov0" ] || cov0=$(echo "$first" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		c=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		[ -n "$c" ] && cov=$c
		[ -n "$r" ] || break # no status line: the target does not run
		runs=$((runs + r))
		elapsed=$((elapsed + ${s:-0}))
		[ "$runs" -ge "$want" ] && break
	done
	eps="?"
	[ "$elapsed" -gt 0 ] && eps=$((runs / elapsed))
	crashes=$(find "$work/crashes/$t" -type f -name 'crash-*' | wc -l)
	leaks=$(find "$work/crashes/$t" -type f -name 'leak-*' | wc -l)
	echo "   runs ${runs:-?} exec/s ${eps:-?} cov ${cov0:-?} -> ${cov:-?} crashes $crashes leaks $leaks"
	if [ "$commit" = 1 ]; then
		mkdir -p "$work/$t/merged"
		rm -rf "$work/$t/merged"/*
		ASAN_OPTIONS=detect_leaks=0 "$bin" -merge=1 "$work/$t/merged" "$corpus" "$work/$t/new" \
			>"$work/$t.merge.log" 2>&1 || true
		if [ -n "$(ls "$work/$t/merged")" ]; then
			# Keep named regression cases (crash-*, all_bytes, ...) as they are.
			find "$corpus" -type f -regex '.*/[0-9a-f]\{40\}' -delete
			cp -n "$work/$t/merged"/* "$corpus"/
		fi
	fi
	rows="$rows| $t | ${runs:-?} | ${eps:-?} | ${cov0:-?} → ${cov:-?} | $crashes crash, $leaks leak |
"
done

if [ "$commit" = 1 ]; then
	san=$(sed -n 's/^FTPI_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
	res=$here/RESULTS.md
	if [ ! -f "$res" ]; then
		cat >"$res" <<EOT
# Fuzzing campaign results

One section per run of \`tests/fuzz/campaign.sh\`, newest last. Runs are libFuzzer's total over
all jobs (-fork), execs/s that total over the wall-clock time; coverage is libFuzzer's edge count
at the first and the last status line of the run (fork mode counts the features of all jobs, so
it is higher than a single process's "INITED cov:"). Crash inputs are kept under the work
directory's crashes/<target>/; each one fixed is kept as a regression case in corpus/<target>/.
EOT
	fi
	cat >>"$res" <<EOT

## $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$root" rev-parse --short HEAD)

${secs} s per step$( [ "$want" -gt 0 ] && echo ", steps until $want runs"), -fork=${jobs} on $(nproc) cores ($(uname -m)),
build $(basename "$build") (sanitizers: ${san:-none}).

| target | runs | execs/s | coverage (first → last) | crashes |
|---|---|---|---|---|
${rows}
EOT
	echo "wrote $res"
fi
