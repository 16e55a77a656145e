#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""report.py - turns the raw outputs of bench/run.sh into a table and bench/results.md.

usage: report.py RESULTS_DIR RESULTS_MD BUILD_DIR

It reads hyperfine JSON (or the plain-loop timings), /usr/bin/time -v outputs, the key=value
outputs of pcap_read and ftpi_bench, callgrind and perf reports, and the corpus description
written by make_corpus.py. The hand-written analysis in bench/analysis.md (hot spots and
suggestions for a given run) is appended as it is. Standard library only.
"""
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys


def sh(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def kv(path):
    d = {}
    if not os.path.exists(path):
        return d
    for line in open(path):
        line = line.strip()
        if "=" in line and not line.startswith("trace "):
            k, v = line.split("=", 1)
            d[k] = v
    return d


def traces(path):
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path):
        if line.startswith("trace "):
            rows.append(dict(x.split("=", 1) for x in line.split()[1:]))
    return rows


def cpu_runs(out, name):
    """Rows (wall, user, sys, maxrss_kb) of the interleaved /usr/bin/time rounds."""
    p = os.path.join(out, "cpu.%s.txt" % name)
    rows = []
    if os.path.exists(p):
        for line in open(p):
            f = line.split()
            if len(f) == 4 and re.match(r"^[\d.]+$", f[0]):
                rows.append((float(f[0]), float(f[1]), float(f[2]), int(f[3])))
    return rows


def timings(out, name):
    """Wall time: (median, mean, stdev, min, runs) from hyperfine, else from the rounds."""
    p = os.path.join(out, "hf.%s.json" % name)
    if os.path.exists(p):
        r = json.load(open(p))["results"][0]
        return (r["median"], r["mean"], r.get("stddev") or 0.0, r["min"], len(r["times"]))
    t = [w for w, _u, _s, _m in cpu_runs(out, name)]
    if t:
        return (statistics.median(t), statistics.mean(t),
                statistics.stdev(t) if len(t) > 1 else 0.0, min(t), len(t))
    return None


def cpu_median(out, name):
    """CPU seconds (user + system): hyperfine's means (microsecond resolution), else the
    median of the /usr/bin/time rounds (10 ms resolution)."""
    p = os.path.join(out, "hf.%s.json" % name)
    if os.path.exists(p):
        r = json.load(open(p))["results"][0]
        if r.get("user") is not None and r.get("system") is not None:
            return r["user"] + r["system"]
    t = [u + s for _w, u, s, _m in cpu_runs(out, name)]
    return statistics.median(t) if t else None


def max_rss_mb(out, name):
    m = [k for _w, _u, _s, k in cpu_runs(out, name)]
    return max(m) / 1024 if m else None


def callgrind_total(out, name):
    p = os.path.join(out, "cg.%s.log" % name)
    if not os.path.exists(p):
        return None
    m = re.search(r"Collected : (\d+)", open(p).read())
    return int(m.group(1)) if m else None


def callgrind_rows(path, n, pattern=None):
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path):
        m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.+?)(?: \[(.+)\])?$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        fn = m.group(3)
        if pattern and not re.search(pattern, fn):
            continue
        obj = os.path.basename(m.group(4) or "")
        rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), fn, obj))
        if len(rows) >= n:
            break
    return rows


def perf_rows(path, n):
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path):
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.+?)\s*$", line)
        if m:
            sym = re.sub(r"(\s+-)+$", "", m.group(3))
            rows.append((float(m.group(1)), m.group(2), sym))
            if len(rows) >= n:
                break
    return rows


def fmt_mb(b):
    return "%.1f MB" % (b / 1e6)


def main():
    out, md_path, build = sys.argv[1], sys.argv[2], sys.argv[3]
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    corpus = json.load(open(os.path.join(out, "corpus.json")))
    pr = kv(os.path.join(out, "pcap_read.txt"))
    fb = kv(os.path.join(out, "ftpi_bench.txt"))
    fbp = kv(os.path.join(out, "ftpi_bench_preload.txt"))
    fbn = kv(os.path.join(out, "ftpi_bench_nondpi.txt"))
    nbytes = int(pr.get("bytes", 0))
    npk = int(pr.get("packets", 0))
    file_bytes = os.path.getsize(corpus["file"]) if os.path.exists(corpus["file"]) else 0

    names = [line.split("|")[0] for line in open(os.path.join(out, "commands.txt"))]
    labels = {
        "pcap_read": "bare libpcap loop (baseline)",
        "ftpi_bench": "ftpi_engine_feed, counting callback",
        "ftpinspect_json": "ftpinspect -r FILE --format json",
        "tshark": "tshark -Y ftp -T fields -e ftp.request.command",
        "ndpiReader": "ndpiReader -i FILE -q",
    }
    base = timings(out, "pcap_read")
    base_cpu = cpu_median(out, "pcap_read")
    base_ir = callgrind_total(out, "pcap_read")
    rows = []
    for name in names:
        t = timings(out, name)
        if t is None:
            continue
        ir = callgrind_total(out, name)
        cpu = cpu_median(out, name)
        rows.append({
            "name": name, "what": labels.get(name, name), "median": t[0], "mean": t[1],
            "sd": t[2], "min": t[3], "runs": t[4], "cpu": cpu,
            "ratio": t[0] / base[0] if base and base[0] > 0 else None,
            "ratio_min": t[3] / base[3] if base and base[3] > 0 else None,
            "ratio_cpu": cpu / base_cpu if cpu is not None and base_cpu else None,
            "mbps": file_bytes / 1e6 / t[0] if t[0] else None,
            "kpps": npk / 1e3 / t[0] if t[0] else None,
            "rss": max_rss_mb(out, name),
            "ir": ir, "ir_ratio": ir / base_ir if ir and base_ir else None,
        })

    def f(v, spec, none="n/a"):
        return none if v is None else spec % v

    table = ["| tool | what | wall median s | mean ± sd | min | runs | CPU s (user+sys) | "
             "**× bare, wall median** | × bare, wall min | × bare, CPU | MB/s | kpkt/s | "
             "max RSS MB | instructions (G) | instr. × bare |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append("| %s | %s | %s | %s ± %s | %s | %d | %s | **%s** | %s | %s | %s | %s | %s | "
                     "%s | %s |" % (
                         r["name"], r["what"], f(r["median"], "%.3f"), f(r["mean"], "%.3f"),
                         f(r["sd"], "%.3f"), f(r["min"], "%.3f"), r["runs"], f(r["cpu"], "%.3f"),
                         f(r["ratio"], "%.2fx"), f(r["ratio_min"], "%.2fx"),
                         f(r["ratio_cpu"], "%.2fx"), f(r["mbps"], "%.0f"), f(r["kpps"], "%.0f"),
                         f(r["rss"], "%.1f"), f(r["ir"] / 1e9 if r["ir"] else None, "%.2f"),
                         f(r["ir_ratio"], "%.1fx")))

    # Console table.
    print()
    print("%-16s %9s %9s %8s %8s %8s %7s %8s %8s" % (
        "tool", "wall med", "x bare", "wall min", "x bare", "CPU s", "x bare", "RSS MB",
        "instr x"))
    for r in rows:
        print("%-16s %9s %9s %8s %8s %8s %7s %8s %8s" % (
            r["name"], f(r["median"], "%.3f"), f(r["ratio"], "%.2fx"), f(r["min"], "%.3f"),
            f(r["ratio_min"], "%.2fx"), f(r["cpu"], "%.3f"), f(r["ratio_cpu"], "%.2fx"),
            f(r["rss"], "%.1f"), f(r["ir_ratio"], "%.1fx")))
    missing = os.path.join(out, "missing.txt")
    if os.path.exists(missing):
        print(open(missing).read().strip())

    # Machine.
    cpu = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    osname = sh(". /etc/os-release && echo $PRETTY_NAME")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rev = sh("cd %s && git rev-parse --short HEAD" % repo)
    dirty = sh("cd %s && git status --porcelain -- libftpinspect tools bench | head -1" % repo)
    cc = sh("grep -m1 'CMAKE_C_COMPILER:' %s/CMakeCache.txt | cut -d= -f2" % build)
    cc_ver = sh("%s --version | head -1" % cc) if cc else ""
    btype = sh("grep -m1 'CMAKE_BUILD_TYPE:' %s/CMakeCache.txt | cut -d= -f2" % build)
    versions = [
        ("libpcap", sh("python3 -c 'import ctypes;l=ctypes.CDLL(\"libpcap.so.0.8\");"
                       "l.pcap_lib_version.restype=ctypes.c_char_p;"
                       "print(l.pcap_lib_version().decode())'")),
        ("tshark", sh("tshark -v 2>/dev/null | head -1")),
        ("ndpiReader", sh("ndpiReader -h 2>&1 | grep -m1 -o 'nDPI [0-9.]*'")),
        ("hyperfine", sh("hyperfine --version")),
        ("valgrind", sh("valgrind --version")),
    ]

    L = []
    L.append("# ftpinspect benchmark results")
    L.append("")
    L.append("Generated by `bench/run.sh` (see `bench/README.md`); the analysis at the end is "
             "written by hand from the run it names.")
    L.append("")
    L.append("- date: %s" % now)
    L.append("- commit: %s%s" % (rev, " (with local changes)" if dirty else ""))
    L.append("- machine: %s, %s cores, %s GiB RAM, %s, kernel %s (a VM shared with other "
             "work: expect a few %% of noise)" % (cpu, os.cpu_count(), mem, osname,
                                                   platform.release()))
    L.append("- build: %s, %s, `-DFTPI_BUILD_BENCH=ON` in `%s`" % (
        btype or "?", cc_ver or cc or "?", os.path.relpath(build, repo)))
    L.append("- tools: " + "; ".join("%s %s" % (k, v) if k not in v else v
                                     for k, v in versions if v))
    if glob.glob(os.path.join(out, "hf.*.json")):
        how = ("hyperfine (1 warm-up run; wall time, and CPU time = mean user + system), then "
               "interleaved rounds under `/usr/bin/time` (max RSS)")
    else:
        how = ("interleaved rounds under `/usr/bin/time` (wall, CPU = user + system, max RSS; "
               "10 ms resolution), hyperfine not used")
    L.append("- timing: %s; the file is in the page cache and standard output goes to "
             "/dev/null. Ratios divide by the bare loop's figure of the same kind. Load average "
             "at the end of the run: %s." % (how, sh("cut -d' ' -f1-3 /proc/loadavg")))
    L.append("")
    L.append("## Corpus")
    L.append("")
    if corpus.get("user_file"):
        L.append("User file `%s`, %s, %d packets." % (corpus["file"], fmt_mb(file_bytes), npk))
    else:
        srcs = corpus["sources"]
        tot = sum(s["copies"] * s["bytes_each"] for s in srcs) or 1
        bulk = sum(s["copies"] * s["bytes_each"] for s in srcs if s["bulk"])
        ctl = sum(s["copies"] * s["control_bytes"] for s in srcs)
        pay = sum(s["copies"] * s["payload_bytes"] for s in srcs)
        L.append("`bench/work/corpus.pcap` from `bench/make_corpus.py` (seed `%s`): %s, %d "
                 "packets, Ethernet, %d copies of %d source captures, copy k starting at "
                 "k × %g ms (timeline %.0f s), addresses and client ports rewritten per copy "
                 "so that every copy is its own set of flows." % (
                     corpus["seed"], fmt_mb(corpus["bytes"]), corpus["packets"],
                     corpus["copies"], len(srcs), corpus["stride_ms"], corpus["timeline_s"]))
        L.append("")
        L.append("- bulk sources (a data flow of 100 kB or more, copied %d× per round): %.0f%% "
                 "of the bytes (%s)" % (corpus["bulk_weight"], 100.0 * bulk / tot,
                                        ", ".join(os.path.basename(os.path.dirname(s["path"]))
                                                  + "/" + os.path.basename(s["path"])
                                                  for s in srcs if s["bulk"])))
        L.append("- TCP payload: %s, of which FTP control channels (ports 21/990/2121) %s"
                 % (fmt_mb(pay), fmt_mb(ctl)))
        L.append("- what the engine saw: %s TCP flows, %s FTP sessions, %s data connections "
                 "(%s matched to an announcement), %s commands, %s replies, %s findings, "
                 "%s non-IP/non-TCP packets (the public files carry UDP, ARP, SIP, DNS, HTTP)"
                 % (fb.get("stat.flows_created"), fb.get("stat.sessions_created"),
                    fb.get("stat.data_connections"), fb.get("stat.expectations_matched"),
                    fb.get("stat.ftp_commands"), fb.get("stat.ftp_replies"),
                    fb.get("stat.findings"),
                    int(fb.get("stat.decode_not_ip", 0)) + int(fb.get("stat.decode_not_tcp", 0))))
        if corpus.get("skipped"):
            L.append("- skipped (not Ethernet pcap): " + ", ".join(
                "`%s` (%s)" % (s["path"], s["why"]) for s in corpus["skipped"]))
        L.append("")
        L.append("<details><summary>sources and copies</summary>")
        L.append("")
        L.append("| source | copies | bytes each | largest data flow | bulk |")
        L.append("|---|---:|---:|---:|---|")
        for s in sorted(srcs, key=lambda s: -s["copies"] * s["bytes_each"]):
            L.append("| `%s` | %d | %d | %d | %s |" % (s["path"], s["copies"], s["bytes_each"],
                                                       s["largest_flow"],
                                                       "yes" if s["bulk"] else ""))
        L.append("")
        L.append("</details>")
    L.append("")
    L.append("## Speed and memory, same file, same run")
    L.append("")
    L += table
    L.append("")
    L.append("MB/s and kpkt/s use the wall median and the whole file (%s, %d packets); "
             "instructions are callgrind's totals for the whole process, start-up included."
             % (fmt_mb(file_bytes), npk))
    if os.path.exists(missing):
        L.append("")
        for line in open(missing):
            L.append("- not measured: " + line.strip())
    L.append("- `perf stat -e instructions`: %s" % (
        open(os.path.join(out, "perf_stat.txt")).read().strip()
        if os.path.exists(os.path.join(out, "perf_stat.txt")) else "n/a"))
    L.append("")
    L.append("### The engine alone")
    L.append("")
    if fbp:
        L.append("- packets held in memory first (`ftpi_bench --preload`), feed loop timed "
                 "alone: %s s for %s packets, **%s packets/s, %s MB/s**; the bare read loop "
                 "takes %s s for the same file, so the engine costs %.1f× the reading." % (
                     fbp.get("feed_seconds"), fbp.get("packets"), fbp.get("feed_pps"),
                     fbp.get("feed_MBps"), pr.get("seconds"),
                     float(fbp.get("feed_seconds", 0)) / max(float(pr.get("seconds", 1)), 1e-9)))
    if fb:
        L.append("- streaming (`ftpi_bench FILE`, read + feed + flush): %s s; engine set-up "
                 "and flush (nDPI init, OpenSSL) are in it: %.3f s outside the loop." % (
                     fb.get("seconds"), float(fb.get("seconds", 0)) -
                     float(fb.get("feed_seconds", 0))))
    if fbn:
        L.append("- without nDPI (`use_ndpi = 0`): %s s streaming, feed loop %s packets/s, "
                 "%s MB/s." % (fbn.get("seconds"), fbn.get("feed_pps"), fbn.get("feed_MBps")))
    if fb:
        L.append("- events (all types, counted, not formatted): %s; engine memory high-water "
                 "`mem_high_water` = **%s** (%s in use at the end, before the flush)." % (
                     fb.get("events"), fmt_mb(int(fb.get("mem_high_water", 0))),
                     fmt_mb(int(fb.get("stat.mem_in_use", 0)))))
    ir_feed = callgrind_rows(os.path.join(out, "cg.ftpi_bench.incl.txt"), 1,
                             r"engine\.c:ftpi_engine_feed")
    if ir_feed and npk:
        L.append("- callgrind: `ftpi_engine_feed` inclusive %.2f G instructions = %.0f per "
                 "packet (%.0f%% of the process); the bare loop is %.0f instructions per packet "
                 "in total." % (ir_feed[0][0] / 1e9, ir_feed[0][0] / npk, ir_feed[0][1],
                                (base_ir or 0) / npk))
    L.append("")
    L.append("## Profile of the engine")
    L.append("")
    prow = perf_rows(os.path.join(out, "perf.self.txt"), 20)
    if prow:
        L.append("`perf record -e cpu-clock -F 4000` of `ftpi_bench FILE` (read + feed + flush; "
                 "self time, so libpcap's reading shows up too):")
        L.append("")
        L.append("| self % | object | symbol |")
        L.append("|---:|---|---|")
        for pct, dso, sym in prow:
            L.append("| %.2f | %s | `%s` |" % (pct, dso, sym))
        L.append("")
    crow = callgrind_rows(os.path.join(out, "cg.ftpi_bench.self.txt"), 20)
    if crow:
        L.append("callgrind, `ftpi_bench FILE`, self instructions:")
        L.append("")
        L.append("| Ir | % | function | object |")
        L.append("|---:|---:|---|---|")
        for ir, pct, fn, obj in crow:
            L.append("| %d | %.2f | `%s` | %s |" % (ir, pct, fn, obj))
        L.append("")
    irow = callgrind_rows(os.path.join(out, "cg.ftpi_bench.incl.txt"), 40,
                          r"^(libftpinspect|\?\?\?:ndpi_detection_process|.*pcap_next_ex)")
    if irow:
        L.append("callgrind, inclusive (the pipeline stages):")
        L.append("")
        L.append("| Ir | % | function |")
        L.append("|---:|---:|---|")
        seen = set()
        for ir, pct, fn, obj in irow:
            if fn in seen:
                continue
            seen.add(fn)
            L.append("| %d | %.2f | `%s` |" % (ir, pct, fn))
        L.append("")
    L.append("## Memory under a flow flood")
    L.append("")
    for fname, title in (("flood_1024.txt", "1,000,000 SYNs from distinct clients, "
                          "`max_flows = 1024`"),
                         ("flood_1024_small.txt", "100,000 SYNs, `max_flows = 1024`"),
                         ("flood_default.txt", "1,000,000 SYNs, default `max_flows` (65536)"),
                         ("corpus_maxflows64.txt", "the corpus, `max_flows = 64`")):
        tr = traces(os.path.join(out, fname))
        d = kv(os.path.join(out, fname))
        if not tr:
            continue
        L.append("**%s** — final high-water %s, %s flows evicted:" % (
            title, fmt_mb(int(d.get("mem_high_water", 0))), d.get("stat.flows_evicted")))
        L.append("")
        L.append("| packets | flows created | flows active | evicted | sessions active | "
                 "mem_in_use | mem_high_water |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|")
        for t in tr:
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                t["packets"], t["flows_created"], t["flows_active"], t["flows_evicted"],
                t["sessions_active"], t["mem_in_use"], t["mem_high_water"]))
        L.append("")
    analysis = os.path.join(here, "analysis.md")
    if os.path.exists(analysis) and os.path.abspath(md_path) == os.path.join(here, "results.md"):
        L.append(open(analysis).read().rstrip())
        L.append("")
    # Sections other scripts or rounds maintain (their own runs, their own commits) are kept,
    # in the order they stand: every block between "<!-- NAME begin -->" and "<!-- NAME end -->"
    # (the stages refactor round, bench/live.sh's live capture, the stream API's cost per call,
    # bench/sweep.py's sweep, the per-core rounds, the workers round, bench/hashes.sh,
    # bench/share.sh, bench/memload.sh).
    old = open(md_path).read() if os.path.exists(md_path) else ""
    for m in re.finditer(r"<!-- ([\w.\-]+) begin -->", old):
        end = "<!-- %s end -->" % m.group(1)
        e = old.find(end, m.end())
        if e >= 0:
            L.append(old[m.start():e + len(end)])
            L.append("")
    with open(md_path, "w") as fh:
        fh.write("\n".join(L) + "\n")
    print("\nwrote %s" % md_path)


if __name__ == "__main__":
    main()
