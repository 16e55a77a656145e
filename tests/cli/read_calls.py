#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A savefile is read through a 256 KiB stdio buffer (tools/ftpinspect/capture.c), not stdio's
default 4 KiB one: under strace, the read() calls on the capture's descriptor are counted for a
2.3 MB capture (570 with 4 KiB reads, about 10 with 256 KiB ones) and a gzip-compressed copy
of it (zlib's reads: 256 KiB too, gzbuffer), and the events are compared with those read from
standard input (libpcap's own stream).
Exit 0 = as expected, 1 = not, 77 = strace is not installed (skipped, saying so)."""
import gzip
import os
import re
import shutil
import subprocess
import sys

LIMIT = 64  # read() calls on the capture for 2.3 MB: ~10 expected, 570 with 4 KiB reads


def reads_on(ftpinspect, path, trace):
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,read", "-o", trace, ftpinspect,
                    "-r", path, "--format", "json", "--no-progress"],
                   stdout=subprocess.DEVNULL, check=True)
    fds, n = set(), 0
    name = re.escape(os.path.basename(path))
    with open(trace) as f:
        for line in f:
            m = re.search(r'openat\(.*' + name + r'", [^)]*\) = (\d+)', line)
            if m:
                fds.add(m.group(1))
                continue
            m = re.search(r"read\((\d+),", line)
            if m and m.group(1) in fds:
                n += 1
    return n


def main():
    ftpinspect, capture, work = sys.argv[1], sys.argv[2], sys.argv[3]
    if shutil.which("strace") is None:
        print("SKIP: strace is not installed")
        return 77
    os.makedirs(work, exist_ok=True)
    gz = os.path.join(work, "read_calls.pcap.gz")
    with open(capture, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    bad = 0
    for path in (capture, gz):
        n = reads_on(ftpinspect, path, os.path.join(work, "read_calls.strace"))
        print(f"{os.path.basename(path)}: {n} read() calls on the capture")
        if n == 0 or n > LIMIT:
            print(f"FAIL: expected 1..{LIMIT}")
            bad = 1
    args = ["--format", "json", "--no-progress"]
    by_file = subprocess.run([ftpinspect, "-r", capture] + args, capture_output=True,
                             check=True).stdout
    with open(capture, "rb") as f:
        by_stdin = subprocess.run([ftpinspect, "-r", "-"] + args, stdin=f, capture_output=True,
                                  check=True).stdout
    by_gz = subprocess.run([ftpinspect, "-r", gz] + args, capture_output=True,
                           check=True).stdout
    if not by_file or by_file != by_stdin or by_file != by_gz:
        print("FAIL: the events differ between the file, its gzip copy and standard input")
        bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
