#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/hashes.sh - what --file-hashes costs (issue 17): on the benchmark corpus, interleaved
# rounds of the bare libpcap read loop and `ftpinspect --format json` without hashing, with
# --file-hashes (SHA-256 and libmagic typing) and with --file-hashes=md5,sha1,sha256. Prints and
# writes into bench/results.md (between "<!-- hashes begin -->" and "<!-- hashes end -->", a
# block bench/run.sh keeps) the median CPU and wall time, the ratio to the bare read and the
# cost of hashing over the run without it. Not part of CI.
# Knobs: ROUNDS (5), BUILD_DIR (build-bench), CORPUS (bench/work/corpus.pcap, made with
# make_corpus.py --target-mb BENCH_MB (100) when absent), RESULTS_MD (bench/results.md; empty:
# print only).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
BUILD_DIR=${BUILD_DIR:-build-bench}
ROUNDS=${ROUNDS:-5}
BENCH_MB=${BENCH_MB:-100}
CORPUS=${CORPUS:-$here/work/corpus.pcap}
RESULTS_MD=${RESULTS_MD-$here/results.md}
out=$here/work/hashes
mkdir -p "$out"
[ -x /usr/bin/time ] || { echo "hashes.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
if [ ! -f "$CORPUS" ]; then
	echo "== corpus ($BENCH_MB MB): $CORPUS" >&2
	python3 "$here/make_corpus.py" --out "$CORPUS" --target-mb "$BENCH_MB"
fi
echo "== build ($BUILD_DIR)" >&2
cmake -S . -B "$BUILD_DIR" -DFTPI_BUILD_BENCH=ON -DFTPI_BUILD_TESTS=OFF >"$out/cmake.log" 2>&1
cmake --build "$BUILD_DIR" -j2 --target pcap_read ftpinspect >>"$out/cmake.log" 2>&1
B=$repo/$BUILD_DIR
CLI="$B/tools/ftpinspect/ftpinspect -r $CORPUS --format json --no-progress"
cat "$CORPUS" >/dev/null # into the page cache
: >"$out/times.tsv"
for r in $(seq "$ROUNDS"); do
	echo "== round $r of $ROUNDS" >&2
	for cfg in bare json sha256 all3; do
		case $cfg in
		bare) set -- "$B/bench/pcap_read" "$CORPUS" ;;
		json) set -- $CLI ;;
		sha256) set -- $CLI --file-hashes ;;
		all3) set -- $CLI --file-hashes=md5,sha1,sha256 ;;
		esac
		/usr/bin/time -f "%e %U %S %M" -o "$out/t.$cfg" "$@" >"$out/$cfg.out" 2>"$out/$cfg.err" ||
			{ echo "hashes.sh: $cfg failed, see $out/$cfg.err" >&2; exit 1; }
		printf '%s %s\n' "$cfg" "$(cat "$out/t.$cfg")" >>"$out/times.tsv"
	done
done
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
python3 - "$out" "$CORPUS" "$commit" "$ROUNDS" "$RESULTS_MD" <<'PY'
import datetime, json, os, statistics, sys
out, corpus, commit, rounds, md = sys.argv[1:6]
t = {}
for line in open(os.path.join(out, "times.tsv")):
    cfg, wall, user, sys_, rss = line.split()
    t.setdefault(cfg, []).append((float(wall), float(user) + float(sys_), int(rss)))
med = lambda cfg, i: statistics.median(x[i] for x in t[cfg])
# what the hashed runs saw: data events with a sha256, and their bytes
hashed, nbytes, data = 0, 0, 0
for line in open(os.path.join(out, "sha256.out")):
    o = json.loads(line)
    if o.get("event") == "data":
        data += 1
        if o.get("sha256"):
            hashed += 1
            nbytes += o.get("bytes_to_server", 0) + o.get("bytes_to_client", 0)
names = {"bare": "`pcap_read` (bare `pcap_next_ex` loop)",
         "json": "`ftpinspect --format json`",
         "sha256": "`ftpinspect --format json --file-hashes` (SHA-256, libmagic)",
         "all3": "`ftpinspect --format json --file-hashes=md5,sha1,sha256`"}
L = ["<!-- hashes begin -->", "## Hashing cost (bench/hashes.sh)", ""]
L.append("- date: %s UTC; commit: %s; %s interleaved rounds, medians; machine: %d cores "
         "(shared), load average at the end: %s" % (
             datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), commit, rounds,
             os.cpu_count() or 0, " ".join("%.2f" % x for x in os.getloadavg())))
L.append("- corpus: `%s`, %d bytes; %d data connections, %d of them hashed (%.1f MB of "
         "payload through the digests)" % (os.path.relpath(corpus), os.path.getsize(corpus),
                                           data, hashed, nbytes / 1e6))
L.append("")
L.append("| run | wall s | CPU s | max RSS MiB | CPU / bare read | CPU / without hashing |")
L.append("|---|---:|---:|---:|---:|---:|")
for cfg in ("bare", "json", "sha256", "all3"):
    c = med(cfg, 1)
    rel = "-" if cfg == "bare" else "%.2fx" % (c / med("json", 1))
    L.append("| %s | %.2f | %.2f | %.0f | %.2fx | %s |" % (
        names[cfg], med(cfg, 0), c, max(x[2] for x in t[cfg]) / 1024, c / med("bare", 1), rel))
L += ["", "<!-- hashes end -->"]
block = "\n".join(L)
print(block)
if md:
    old = open(md).read() if os.path.exists(md) else ""
    b, e = "<!-- hashes begin -->", "<!-- hashes end -->"
    if b in old and e in old:
        new = old[:old.index(b)] + block + old[old.index(e) + len(e):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    open(md, "w").write(new)
    print("wrote", md, file=sys.stderr)
PY
