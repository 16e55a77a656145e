#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/hashes.sh - what --file-hashes costs (issue 17), on the benchmark corpus, in interleaved
# rounds: the bare libpcap read loop; the engine alone (ftpi_bench) without and with SHA-256 of
# every data connection (the digest's cost); `ftpinspect --format json` without hashing, with
# --file-hashes (SHA-256 and libmagic typing) and with --file-hashes=md5,sha1,sha256. CPU time
# (user + system) from wait4 (microseconds; peak RSS is bench/run.sh's, wait4's would count the
# Python parent before exec). Prints, and writes into bench/results.md between
# "<!-- hashes begin -->" and "<!-- hashes end -->" (a block bench/run.sh keeps), the medians,
# the ratio to the bare read and to the same run without hashing. Not part of CI.
# Knobs: ROUNDS (5), BUILD_DIR (build-bench), CORPUS (bench/work/corpus.pcap; made with
# make_corpus.py --target-mb BENCH_MB (300, as bench/run.sh) when absent), RESULTS_MD
# (bench/results.md; empty: print only), COMMIT (the commit named; git's HEAD by default).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
BUILD_DIR=${BUILD_DIR:-build-bench}
CORPUS=${CORPUS:-$here/work/corpus.pcap}
if [ ! -f "$CORPUS" ]; then
	echo "== corpus (${BENCH_MB:-300} MB): $CORPUS" >&2
	python3 "$here/make_corpus.py" --out "$CORPUS" --target-mb "${BENCH_MB:-300}"
fi
echo "== build ($BUILD_DIR)" >&2
mkdir -p "$here/work"
cmake -S . -B "$BUILD_DIR" -DFTPI_BUILD_BENCH=ON -DFTPI_BUILD_TESTS=OFF >"$here/work/hashes-cmake.log"
cmake --build "$BUILD_DIR" -j2 --target pcap_read ftpi_bench ftpinspect >>"$here/work/hashes-cmake.log"
export COMMIT="${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
exec python3 - "$repo/$BUILD_DIR" "$CORPUS" "${ROUNDS:-5}" "${RESULTS_MD-$here/results.md}" <<'PY'
import datetime, json, os, statistics, subprocess, sys, time
build, corpus, rounds, md = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cli = [build + "/tools/ftpinspect/ftpinspect", "-r", corpus, "--format", "json", "--no-progress"]
runs = [  # name, what, command, the run it adds hashing to
    ("bare", "`pcap_read` (bare `pcap_next_ex` loop)", [build + "/bench/pcap_read", corpus], None),
    ("engine", "engine alone (`ftpi_bench`)", [build + "/bench/ftpi_bench", corpus], None),
    ("engine_sha256", "engine alone, SHA-256 of every data connection (`ftpi_bench "
     "--file-hashes`)", [build + "/bench/ftpi_bench", "--file-hashes", corpus], "engine"),
    ("json", "`ftpinspect --format json`", cli, None),
    ("json_sha256", "`ftpinspect --format json --file-hashes` (SHA-256, libmagic)",
     cli + ["--file-hashes"], "json"),
    ("json_all3", "`ftpinspect --format json --file-hashes=md5,sha1,sha256` (and libmagic)",
     cli + ["--file-hashes=md5,sha1,sha256"], "json"),
]
with open(corpus, "rb") as f:  # into the page cache
    while f.read(1 << 24):
        pass
res = {name: [] for name, *_ in runs}
for r in range(rounds):
    print("== round %d of %d" % (r + 1, rounds), file=sys.stderr)
    for name, _, cmd, _ in runs:
        t0 = time.monotonic()
        with open(os.devnull, "wb") as null:
            p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("hashes.sh: %s failed: %s" % (name, " ".join(cmd)))
        res[name].append((ru.ru_utime + ru.ru_stime, time.monotonic() - t0))
cpu = {n: statistics.median(x[0] for x in v) for n, v in res.items()}
# what hashing saw: data events, those with a digest, their payload
ev = [json.loads(line) for line in subprocess.run(cli + ["--file-hashes"], capture_output=True,
                                                  text=True, check=True).stdout.splitlines()]
data = [e for e in ev if e.get("event") == "data"]
hashed = [e for e in data if e.get("sha256")]
payload = sum(e["bytes_to_server"] + e["bytes_to_client"] for e in hashed)
L = ["<!-- hashes begin -->", "## Hashing cost (bench/hashes.sh)", "",
     "- date: %s UTC; commit: %s; %d interleaved rounds, medians; %d cores (a shared VM), load "
     "average at the end: %s" % (datetime.datetime.now(datetime.timezone.utc).strftime(
         "%Y-%m-%d %H:%M"), os.environ.get("COMMIT", "unknown"), rounds, os.cpu_count() or 0,
         " ".join("%.2f" % x for x in os.getloadavg())),
     "- corpus: `%s` (%d bytes): %d data connections, %d of them hashed, %.1f MB of payload "
     "through the digests" % (os.path.basename(corpus), os.path.getsize(corpus), len(data),
                              len(hashed), payload / 1e6),
     "- CPU = user + system time from wait4; the ratio to the bare read is the project's "
     "measure, the last column what hashing adds to the same run", "",
     "| run | CPU s | wall s | CPU / bare read | CPU / without hashing |",
     "|---|---:|---:|---:|---:|"]
for name, what, _, base in runs:
    v = res[name]
    L.append("| %s | %.3f | %.3f | %.2fx | %s |" % (
        what, cpu[name], statistics.median(x[1] for x in v), cpu[name] / cpu["bare"],
        "%.2fx" % (cpu[name] / cpu[base]) if base else "-"))
digest = cpu["engine_sha256"] - cpu["engine"]
cli_add = cpu["json_sha256"] - cpu["json"]
L += ["", "SHA-256 in the engine: %.3f s for %.1f MB (%.0f MB/s). The CLI's --file-hashes adds "
      "%.3f s; beyond the digest that is libmagic, one magic_buffer() per data connection "
      "(%.0f us each if all of it), and the longer events." % (
          digest, payload / 1e6, payload / 1e6 / digest if digest > 0 else 0, cli_add,
          (cli_add - digest) / len(data) * 1e6 if data else 0), "", "<!-- hashes end -->"]
block = "\n".join(L)
print(block)
if md:
    old = open(md).read() if os.path.exists(md) else ""
    b, e = "<!-- hashes begin -->", "<!-- hashes end -->"
    if b in old and e in old:
        new = old[:old.index(b)] + block + old[old.index(e) + len(e):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(md, "w") as f:
        f.write(new)
    print("wrote", md, file=sys.stderr)
PY
