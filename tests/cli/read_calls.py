#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""How a savefile is read (tools/ftpinspect/capture.c): through a 256 KiB stdio buffer, not
stdio's default 4 KiB, and ahead on a thread of its own when the process has a core to spare.

Under strace, the read() calls on the capture's descriptors are counted for a 2.3 MB capture
(570 with 4 KiB reads, about 10 with 256 KiB ones) read ahead, read on one thread (taskset to
one core, --no-read-ahead, --workers 2 without four cores), and for a gzip-compressed copy
(zlib's reads: 256 KiB too). The
events must be the same however the file is read: ahead or not, from standard input (libpcap's
own stream), from the gzip copy, from a copy cut inside a record (the same note at the end), and
with two inputs in a row, and from a pcapng file. The events go out through a 256 KiB buffer
when standard output is a file: 120 KB of them (-v, the capture given 20 times) in one or two
write() calls, not 30. Exit 0 = as expected, 1 = not, 77 = strace or taskset is not
installed (skipped, saying so)."""
import gzip
import os
import re
import shutil
import subprocess
import sys

LIMIT = 64  # read() calls on the capture for 2.3 MB: ~10 expected, 570 with 4 KiB reads
ARGS = ["--format", "json", "--no-progress"]
# LeakSanitizer cannot run under ptrace: off for the runs under strace (sanitizer builds)
TRACED_ENV = dict(os.environ, ASAN_OPTIONS=":".join(
    x for x in (os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0") if x))


def reads_on(cmd, path, trace):
    """read() calls on the descriptors of path (opened, then dup()ed) until each is closed."""
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,dup,close,read", "-o", trace] +
                   cmd, stdout=subprocess.DEVNULL, check=True, env=TRACED_ENV)
    fds, n, main, threads = set(), 0, None, set()
    name = re.escape(os.path.basename(path))
    with open(trace) as f:
        for line in f:
            tid = line.split(" ", 1)[0]
            main = main or tid
            m = re.search(r'openat\(.*' + name + r'", [^)]*\) = (\d+)', line)
            if m:
                fds.add(m.group(1))
                continue
            m = re.search(r"dup\((\d+)\)\s*= (\d+)", line)
            if m and m.group(1) in fds:
                fds.add(m.group(2))
                continue
            m = re.search(r"close\((\d+)\)", line)
            if m:
                fds.discard(m.group(1))
                continue
            m = re.search(r"read\((\d+),", line)
            if m and m.group(1) in fds:
                n += 1
                threads.add("main" if tid == main else "other")
    return n, threads


def events(cmd, stdin=None):
    p = subprocess.run(cmd, stdin=stdin, capture_output=True)
    return p.returncode, p.stdout, p.stderr


def main():
    ftpinspect, capture, work = sys.argv[1], sys.argv[2], sys.argv[3]
    for tool in ("strace", "taskset"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} is not installed")
            return 77
    os.makedirs(work, exist_ok=True)
    gz = os.path.join(work, "read_calls.pcap.gz")
    with open(capture, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    cut = os.path.join(work, "read_calls_cut.pcap")
    with open(capture, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(os.path.getsize(capture) * 2 // 3))
    trace = os.path.join(work, "read_calls.strace")
    bad = 0
    runs = [("read ahead", [ftpinspect, "-r", capture] + ARGS, capture),
            ("one core", ["taskset", "-c", "0", ftpinspect, "-r", capture] + ARGS, capture),
            ("--no-read-ahead", [ftpinspect, "-r", capture, "--no-read-ahead"] + ARGS, capture),
            ("--workers 2", [ftpinspect, "-r", capture, "--workers", "2"] + ARGS, capture),
            ("gzip", [ftpinspect, "-r", gz] + ARGS, gz)]
    cores = len(os.sched_getaffinity(0))
    # read ahead only with a core to spare: beside one engine; beside the reading thread and
    # two workers
    spare = {"read ahead": cores >= 2, "--workers 2": cores >= 4}
    for what, cmd, path in runs:
        n, threads = reads_on(cmd, path, trace)
        print(f"{what}: {n} read() calls on the capture, by the {' and '.join(sorted(threads))}"
              " thread")
        if n == 0 or n > LIMIT:
            print(f"FAIL: expected 1..{LIMIT}")
            bad = 1
        # read ahead: the file's bytes by a second thread (the main one may only have looked
        # at its first two, for the gzip magic); otherwise all by the main thread
        ahead = spare.get(what, False)
        if ("other" in threads) != ahead or (not ahead and threads != {"main"}):
            print("FAIL: expected the reads " + ("ahead on a second thread" if ahead else
                                                 "on the main thread only"))
            bad = 1

    ref = events([ftpinspect, "-r", capture, "--no-read-ahead"] + ARGS)
    with open(capture, "rb") as f:
        same = {"read ahead": events([ftpinspect, "-r", capture] + ARGS),
                "standard input": events([ftpinspect, "-r", "-"] + ARGS, stdin=f),
                "gzip": events([ftpinspect, "-r", gz] + ARGS)}
    if ref[0] != 0 or not ref[1]:
        print("FAIL: no events from the capture")
        bad = 1
    for what, got in same.items():
        if got[:2] != ref[:2]:
            print(f"FAIL: the events read {what} differ from those read on one thread")
            bad = 1
    # a file cut inside a record, and two inputs in a row: read ahead or not, the same
    pcapng = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "ftp_anon.pcapng")
    for what, cmd in (("cut", [ftpinspect, "-r", cut] + ARGS),
                      ("two inputs", [ftpinspect, "-r", capture, "-r", cut] + ARGS),
                      ("pcapng", [ftpinspect, "-r", pcapng] + ARGS)):
        a, b = events(cmd), events(cmd + ["--no-read-ahead"])
        if a != b or not a[1]:
            print(f"FAIL: {what}: read ahead gives another result")
            bad = 1
        if what == "cut" and b"ends inside a packet record" not in a[2]:
            print("FAIL: cut: no note about the record cut short")
            bad = 1
    # events to a file: written through a 256 KiB buffer
    out = os.path.join(work, "read_calls.json")
    with open(out, "w") as f:
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=write", "-o", trace, ftpinspect] +
                       ["-r", capture] * 20 + ARGS + ["-v"], stdout=f, check=True,
                       env=TRACED_ENV)
    with open(trace) as f:
        writes = sum(1 for line in f if re.search(r"write\(1,", line))
    size = os.path.getsize(out)
    print(f"{size} bytes of events in {writes} write() calls")
    if size < 100000 or not 1 <= writes <= 2:
        print("FAIL: expected more than 100 KB in one or two write() calls")
        bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
