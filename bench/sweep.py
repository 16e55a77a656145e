#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""sweep.py - the benchmark swept over concurrency and file size.

For each point it makes a corpus with make_corpus.py (copies in flight and size), then runs the
bare libpcap loop, the CLI (JSON, JSON with --no-read-ahead, text), the engine alone
(ftpi_bench), libnids (nids_read) and ndpiReader on it, ROUNDS interleaved rounds (every tool
once per round, so a burst of load from other jobs on the machine hits them alike). Each run's
CPU time (user + system), wall time and peak RSS come from wait4()'s rusage (microseconds, not
/usr/bin/time's hundredths); the ratio is the median CPU time over the bare loop's median on the
same file, the wall ratio the same with wall times. ftpi_bench's counters give the flows the engine
held at once, the FTP sessions and the engine's accounted memory. The table goes to the
"sweep" section of bench/results.md (between its markers), with the commit; big corpora are
deleted after their point unless --keep.

  python3 bench/sweep.py                        # all points, build dir build-bench
  python3 bench/sweep.py --points c48 c2000     # some points
  python3 bench/sweep.py --points mix c48       # mostly traffic that is not FTP, and FTP-dense
  python3 bench/sweep.py --base-cli OLD/ftpinspect   # also time an older CLI (before/after)
Environment: BUILD_DIR (build-bench), ROUNDS (3).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
WORK = os.path.join(HERE, "work")

# name: (what it shows, make_corpus arguments[, capacities]). The capacities go to ftpinspect
# and ftpi_bench (both take these flags; a --base-cli must be 9ca4dfe or later for those points)
# where the defaults (16,384 sessions, 65,536 flows, 512 MiB) would refuse sessions: the point
# then measures the whole work, as the peers (no caps) do.
CAPS_20K = ["--max-sessions", "65536", "--max-flows", "131072", "--mem-cap", "1024"]
CAPS_100K = ["--max-sessions", "262144", "--max-flows", "524288", "--mem-cap", "4096"]
POINTS = {
    "c48": ("48 copies in flight, 100 MB", ["--in-flight", "48", "--target-mb", "100"]),
    "c2000": ("2,000 in flight, 100 MB", ["--in-flight", "2000", "--target-mb", "100",
                                          "--max-source-kb", "25"]),
    "c20000": ("20,000 in flight, 200 MB", ["--in-flight", "20000", "--target-mb", "200",
                                            "--max-source-kb", "25"], CAPS_20K),
    "c100000": ("100,000 in flight, 700 MB", ["--in-flight", "100000", "--target-mb", "700",
                                              "--max-source-kb", "25"], CAPS_100K),
    "mix": ("mixed (88% of bytes not FTP), 48 in flight, 100 MB",
            ["--in-flight", "48", "--target-mb", "100", "--mix",
             os.path.join(HERE, "seeds", "mixed.pcap"), "--mix-share", "0.85"]),
    "mix500": ("mixed (88% of bytes not FTP), 48 in flight, 500 MB",
               ["--in-flight", "48", "--target-mb", "500", "--mix",
                os.path.join(HERE, "seeds", "mixed.pcap"), "--mix-share", "0.85"]),
    "s500": ("48 in flight, 500 MB", ["--in-flight", "48", "--target-mb", "500"]),
    "s2000": ("48 in flight, 2 GB", ["--in-flight", "48", "--target-mb", "2000"]),
}


def run_rusage(cmd):
    """Runs cmd with stdout to /dev/null; returns (cpu s, wall s, max RSS kB, rc)."""
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL)
        _pid, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    return ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss, os.waitstatus_to_exitcode(status)


def kv(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([\w.]+)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def bench_args(ap, rounds):
    """The options sweep.py and hostile.py share."""
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", rounds)))
    ap.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", "build-bench"))
    ap.add_argument("--base-cli", help="an older ftpinspect binary to time next to this one")
    ap.add_argument("--no-md", action="store_true", help="do not write bench/results.md")


def build(build_dir, targets):
    """Configures build_dir (RelWithDebInfo, the bench targets) and builds targets there."""
    b = os.path.join(REPO, build_dir)
    subprocess.run(["cmake", "-S", REPO, "-B", b, "-DFTPI_BUILD_BENCH=ON",
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", b, "-j2", "--target"] + targets, check=True,
                   stdout=subprocess.DEVNULL)
    return b


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", nargs="+", default=list(POINTS), choices=list(POINTS))
    ap.add_argument("--keep", action="store_true", help="keep the corpora")
    bench_args(ap, "3")
    a = ap.parse_args(argv)

    b = build(a.build_dir, ["pcap_read", "ftpi_bench", "ftpinspect"])
    # libnids is optional (bench/CMakeLists.txt builds nids_read when it is installed)
    subprocess.run(["cmake", "--build", b, "-j2", "--target", "nids_read"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pcap_read = os.path.join(b, "bench", "pcap_read")
    bench = os.path.join(b, "bench", "ftpi_bench")
    nids = os.path.join(b, "bench", "nids_read")
    cli = os.path.join(b, "tools", "ftpinspect", "ftpinspect")
    os.makedirs(WORK, exist_ok=True)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    rows = []
    for name in a.points:
        what, args = POINTS[name][:2]
        caps = POINTS[name][2] if len(POINTS[name]) > 2 else []
        corpus = os.path.join(WORK, "sweep_%s.pcap" % name)
        free = shutil.disk_usage(WORK).free
        if free < 6e9:
            print("sweep: only %.1f GB free in %s; skipping %s" % (free / 1e9, WORK, name),
                  file=sys.stderr)
            continue
        if not os.path.exists(corpus):
            subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), "--out",
                            corpus, "-q"] + args, check=True)
        desc = json.load(open(corpus + ".json"))
        subprocess.run(["cat", corpus], stdout=subprocess.DEVNULL)  # into the page cache
        tools = [("pcap_read", [pcap_read, corpus]),
                 ("json", [cli, "-r", corpus, "--format", "json", "--no-progress"] + caps),
                 # one thread: the file read on the analysing thread (no second core)
                 ("json_one", [cli, "-r", corpus, "--format", "json", "--no-progress",
                               "--no-read-ahead"] + caps),
                 ("text", [cli, "-r", corpus, "--no-progress"] + caps),
                 ("engine", [bench] + caps + [corpus])]
        if a.base_cli:
            tools.append(("json_base", [a.base_cli, "-r", corpus, "--format", "json",
                                        "--no-progress"] + caps))
            tools.append(("text_base", [a.base_cli, "-r", corpus, "--no-progress"] + caps))
        if os.path.exists(nids):
            tools.append(("libnids", [nids, corpus]))
        if shutil.which("ndpiReader"):
            tools.append(("ndpiReader", ["ndpiReader", "-i", corpus, "-q"]))
        res = {t: [] for t, _ in tools}
        for r in range(a.rounds):
            for t, cmd in tools:
                res[t].append(run_rusage(cmd))
            print("sweep: %s round %d/%d done" % (name, r + 1, a.rounds), file=sys.stderr)
        counters = kv(subprocess.run([bench] + caps + [corpus], capture_output=True,
                                     text=True).stdout)
        base_cpu = statistics.median(x[0] for x in res["pcap_read"])
        base_wall = statistics.median(x[1] for x in res["pcap_read"])
        pk = desc["packets"]
        row = {"point": name, "what": what, "packets": pk, "bytes": desc["bytes"],
               "copies": desc["copies"], "in_flight_mean": desc.get("in_flight_mean"),
               "in_flight_peak": desc.get("in_flight_peak"),
               "flows_held_peak": int(counters.get("flows_active_peak", 0)),
               "flows": int(counters.get("stat.flows_created", 0)),
               "sessions": int(counters.get("stat.sessions_created", 0)),
               "mem_high_water": int(counters.get("mem_high_water", 0)),
               "tools": {}}
        for t, _ in tools:
            cpu = statistics.median(x[0] for x in res[t])
            wall = statistics.median(x[1] for x in res[t])
            row["tools"][t] = {
                "cpu_s": round(cpu, 4),
                "wall_s": round(wall, 4),
                "ratio": round(cpu / base_cpu, 2) if base_cpu > 0 else None,
                "wall_ratio": round(wall / base_wall, 2) if base_wall > 0 else None,
                "pps": round(pk / cpu) if cpu > 0 else None,
                "max_rss_kb": max(x[2] for x in res[t]),
                "failed_runs": sum(1 for x in res[t] if x[3] != 0)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if not a.keep:
            for f in (corpus, corpus + ".json"):
                if os.path.exists(f):
                    os.remove(f)
    with open(os.path.join(WORK, "sweep.json"), "w") as f:
        json.dump({"commit": commit, "dirty": bool(dirty), "rounds": a.rounds, "rows": rows},
                  f, indent=1)
    md = table(rows, commit + (" (with uncommitted changes)" if dirty else ""), a.rounds)
    print(md)
    if not a.no_md:
        put_section(os.path.join(HERE, "results.md"), md)
    return 0


def table(rows, commit, rounds):
    names = ["json", "json_one", "text", "engine", "libnids", "ndpiReader", "json_base",
             "text_base"]
    present = [n for n in names if any(n in r["tools"] for r in rows)]
    out = ["## Sweep: concurrency and file size", "",
           "Generated by `bench/sweep.py` at commit %s, %s; median of %d interleaved rounds. "
           "Ratio = CPU time (user + system, from wait4) over the bare `pcap_next_ex` loop's "
           "on the same file; pps = packets per CPU second; RSS = peak resident set (MB). "
           "`in flight` = copies of the source captures whose time spans cover an instant "
           "(mean over the window in which they start); `flows held` = the most TCP flows the "
           "engine held at once (default config: max_flows 65,536)." % (
               commit, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), rounds), ""]
    label = {"json": "ftpinspect JSON", "json_one": "JSON, one thread",
             "text": "ftpinspect text", "engine": "engine, no output",
             "libnids": "libnids", "ndpiReader": "ndpiReader", "json_base": "JSON before",
             "text_base": "text before"}
    head = "| point | packets | in flight | flows held | FTP sessions |"
    sep = "|---|---:|---:|---:|---:|"
    for n in present:
        head += " %s |" % label[n]
        sep += "---:|"
    out += ["Ratio to the bare loop (CPU time):", "", head, sep]
    for r in rows:
        line = "| %s | %s | %s | %s | %s |" % (
            r["what"], fmt_int(r["packets"]), fmt_int(round(r["in_flight_mean"] or 0)),
            fmt_int(r["flows_held_peak"]), fmt_int(r["sessions"]))
        for n in present:
            t = r["tools"].get(n)
            line += " — |" if t is None else " %.2f× |" % t["ratio"]
        out.append(line)
    walls = [n for n in present if any(r["tools"].get(n, {}).get("wall_ratio") for r in rows)]
    if walls:
        out += ["", "Ratio to the bare loop (wall time; the bare loop, libnids and ndpiReader "
                "use one thread, ftpinspect reads a file ahead on a second one unless "
                "`--no-read-ahead`):", "",
                "| point |" + "".join(" %s |" % label[n] for n in walls),
                "|---|" + "---:|" * len(walls)]
        for r in rows:
            line = "| %s |" % r["what"]
            for n in walls:
                t = r["tools"].get(n) or {}
                line += " — |" if t.get("wall_ratio") is None else " %.2f× |" % t["wall_ratio"]
            out.append(line)
    out += ["", "Packets per CPU second, and peak RSS (MB):", ""]
    head = "| point | bare loop |"
    sep = "|---|---:|"
    for n in present:
        head += " %s |" % label[n]
        sep += "---:|"
    out += [head, sep]
    for r in rows:
        b = r["tools"]["pcap_read"]
        line = "| %s | %s, %.0f MB |" % (r["what"], fmt_int(b["pps"]), b["max_rss_kb"] / 1024.0)
        for n in present:
            t = r["tools"].get(n)
            line += " — |" if t is None else " %s, %.0f MB |" % (fmt_int(t["pps"]),
                                                                 t["max_rss_kb"] / 1024.0)
        out.append(line)
    out.append("")
    out.append("Engine memory (accounted, `mem_high_water`) per point: " + ", ".join(
        "%s %.1f MB for %d flows held (%.0f B/flow)" % (
            r["point"], r["mem_high_water"] / 1e6, r["flows_held_peak"],
            r["mem_high_water"] / max(1, r["flows_held_peak"])) for r in rows) + ".")
    return "\n".join(out) + "\n"


def fmt_int(v):
    return "—" if v is None else "{:,}".format(v)


def put_section(path, md, name="sweep"):
    """Puts md between the <!-- NAME begin --> and <!-- NAME end --> markers of path."""
    begin, end = "<!-- %s begin -->" % name, "<!-- %s end -->" % name
    text = open(path).read() if os.path.exists(path) else ""
    block = begin + "\n" + md + end
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
