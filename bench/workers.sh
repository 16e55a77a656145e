#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/workers.sh - the --workers figures of issue 15 on the benchmark corpus (bench/run.sh makes
# it; BENCH_MB=100 python3 bench/make_corpus.py is enough): in one run, interleaved rounds of the
# bare libpcap read loop, `ftpinspect --format json` with 1 and 2 workers, and the engines alone
# on preloaded packets (ftpi_workers_bench) with 1 and 2 workers. Prints wall, CPU and max RSS
# per round and the median ratios; the speed-up of the engines alone gives the serial fraction
# (Amdahl) and the projection to 8 and 16 cores. The peers run in the same rounds on the same file:
# ndpiReader, libnids (nids_read), Suricata 7 (runmodes single and autofp; from Debian's
# bookworm-backports, added to the apt sources here when Suricata is missing and this runs as
# root) and tshark (first round only: it is slow); what each found is printed next to its time
# and peak RSS. Not part of CI. Knobs: ROUNDS (3), BUILD_DIR (build-bench), CORPUS
# (bench/work/corpus.pcap), SKIP_PEERS=1.
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
cmake --build "$BUILD_DIR" -j2 --target nids_read >/dev/null 2>&1 || true
B=$repo/$BUILD_DIR
SKIP_PEERS=${SKIP_PEERS:-0}
have() { command -v "$1" >/dev/null 2>&1; }
if [ "$SKIP_PEERS" = 0 ] && ! have suricata && [ "$(id -u)" = 0 ]; then
	# Suricata 7 is in bookworm-backports (bookworm itself has 6)
	echo "workers.sh: installing suricata from bookworm-backports" >&2
	cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	if apt-get update >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports \
			--no-install-recommends suricata >/dev/null 2>&1 ||
			echo "workers.sh: suricata could not be installed" >&2
	else
		echo "workers.sh: bookworm-backports cannot be reached: no suricata" >&2
	fi
fi
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
	[ "$SKIP_PEERS" = 0 ] || continue
	have ndpiReader && run ndpiReader ndpiReader -i "$CORPUS"
	[ -x "$B/bench/nids_read" ] && run nids_read "$B/bench/nids_read" "$CORPUS"
	if have suricata; then
		: >"$out/empty.rules"
		for mode in single autofp; do
			rm -rf "$out/suricata_$mode" && mkdir -p "$out/suricata_$mode"
			run "suricata_$mode" suricata -r "$CORPUS" -k none --runmode "$mode" \
				-S "$out/empty.rules" -l "$out/suricata_$mode"
		done
	fi
	if [ "$r" = 1 ] && have tshark; then
		run tshark tshark -r "$CORPUS" -Y "ftp || ftp-data" -T fields -e frame.protocols
	fi
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
import collections, json, re
def found(n):
    # what each tool found on the corpus, from its own output
    try:
        if n.startswith("cli_w"):
            c = collections.Counter(json.loads(l).get("event") for l in open(os.path.join(out, n + ".out")))
            return f"sessions {c['session']}, data {c['data']}, findings {c['finding']}"
        if n.startswith("engines_w"):
            kv = dict(l.strip().split("=", 1) for l in open(os.path.join(out, n + ".out")) if "=" in l)
            return f"sessions {kv.get('events.session')}, data {kv.get('events.data')}, findings {kv.get('events.finding')}"
        if n == "ndpiReader":
            t = open(os.path.join(out, n + ".out")).read()
            m = re.findall(r"\n\s+(FTP\w*)\s+packets:\s+\d+\s+bytes:\s+\d+\s+flows:\s+(\d+)", t)
            return ", ".join(f"{k} flows {v}" for k, v in m) or "-"
        if n == "nids_read":
            kv = dict(l.strip().split("=", 1) for l in open(os.path.join(out, n + ".out")) if "=" in l)
            return f"TCP streams {kv.get('streams')} (reassembled bytes {kv.get('stream_bytes')})"
        if n.startswith("suricata_"):
            c = collections.Counter(json.loads(l).get("event_type") for l in open(os.path.join(out, n, "eve.json")))
            return f"ftp transactions {c['ftp']}, ftp_data {c['ftp_data']}, flows {c['flow']}"
        if n == "tshark":
            c = collections.Counter("ftp-data" if "ftp-data" in l else "ftp" for l in open(os.path.join(out, n + ".out")))
            return f"FTP control packets {c['ftp']}, FTP data packets {c['ftp-data']}"
    except (OSError, ValueError):
        pass
    return "-"
base = rows["pcap_read"]
bw, bc = med([r[0] for r in base]), med([r[1] for r in base])
print("| run | wall s (median) | CPU s (median) | max RSS MiB | wall / bare read | CPU / bare read | found |")
print("|---|---:|---:|---:|---:|---:|---|")
for n in ("pcap_read", "cli_w1", "cli_w2", "engines_w1", "engines_w2", "ndpiReader", "nids_read",
          "suricata_single", "suricata_autofp", "tshark"):
    if n not in rows:
        continue
    r = rows[n]
    w, c, m = med([x[0] for x in r]), med([x[1] for x in r]), max(x[2] for x in r) / 1024
    print(f"| {n} | {w:.2f} | {c:.2f} | {m:.0f} | {w / bw:.2f}x | {c / bc:.2f}x | {found(n)} |")
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
