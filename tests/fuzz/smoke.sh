#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# CI's fuzz smoke run (.ci/run): each libFuzzer target of a fuzz build runs RUNS inputs (at most
# SECONDS, default 20) from its committed corpus with its dictionary. It fails when a target crashes, or when its starting
# coverage (libFuzzer's "INITED cov:", edges seen while loading the corpus) is below the floor
# recorded in cov-floors.txt, or when a target has no floor: a build whose library objects lose
# the -fsanitize=fuzzer-no-link instrumentation starts at a few dozen edges and is caught.
#   tests/fuzz/smoke.sh BUILD [RUNS [SECONDS]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$1
runs=${2:-20000}
secs=${3:-20}
fail=0
for f in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	case "$f" in *_replay) continue ;; esac
	name=$(basename "$f")
	dict=$(awk -v t="$name" '$1 == t { print $2 }' "$here/dicts.txt")
	floor=$(awk -v t="$name" '$1 == t { print $2 }' "$here/cov-floors.txt")
	tmp=$(mktemp -d)
	rc=0
	# shellcheck disable=SC2086
	"$f" -runs="$runs" -max_total_time="$secs" -max_len=4096 ${dict:+-dict="$here/dict/$dict"} "$tmp" \
		"$here/corpus/$name" >"$tmp.log" 2>&1 || rc=$?
	cov=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$tmp.log" | head -1)
	if [ "$rc" != 0 ]; then
		tail -40 "$tmp.log"
		echo "$name: FAILED (exit $rc)"
		fail=1
	elif [ -z "$floor" ]; then
		echo "$name: no coverage floor in tests/fuzz/cov-floors.txt (INITED cov ${cov:-?})"
		fail=1
	elif [ "${cov:-0}" -lt "$floor" ]; then
		echo "$name: starting coverage ${cov:-?} is below the floor $floor (library objects not instrumented?)"
		fail=1
	else
		echo "$name: INITED cov $cov >= floor $floor; $(grep -E '^Done [0-9]+ runs' "$tmp.log" || echo "stopped at ${secs} s")"
	fi
	rm -rf "$tmp" "$tmp.log"
done
exit $fail
