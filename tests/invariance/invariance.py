#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""invariance.py - one invariance case: CAPTURE rewritten by resegment.py MODE must give the same
sessions, data connections, findings and server summaries as CAPTURE itself (ftpinspect --format
json). Compared as multisets of events, without what must differ: capture times (ts, start, end)
and frame numbers, also where a message names one (and nDPI's note in evidence, see
NDPI_NOTE). Exit 0 when equal, 1 with the differences, 77 (skip) when scapy is missing (frag), the
capture is absent (public set) or pcapng, or the mode applies to none of its packets.

  invariance.py --ftpinspect BIN --capture CAPTURE --mode MODE [--seed N] [--keep DIR]
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KEPT = ("finding", "data", "session", "server")
TIME_KEYS = ("ts", "timestamp", "frame", "start", "end", "announce_frame")
# nDPI dissects packet by packet: whether it flags clear-text credentials depends on the
# segmentation, so its note in a finding's evidence is not compared.
NDPI_NOTE = re.compile(r"; nDPI risk: [^;]*")
# Texts that name a frame ("announced in frame 14") differ when packets are split or added.
FRAME_REF = re.compile(r"\bframe \d+")


def events(ftpinspect, pcap):
    r = subprocess.run([ftpinspect, "-r", pcap, "--format", "json", "--no-progress"],
                       capture_output=True, text=True)
    if r.returncode not in (0, 3):
        sys.exit("invariance: ftpinspect %s failed (%d): %s" % (pcap, r.returncode, r.stderr))
    out = []
    for line in r.stdout.splitlines():
        ev = json.loads(line)
        if ev.get("event") not in KEPT:
            continue
        for k in TIME_KEYS:
            ev.pop(k, None)
        for k in ("evidence", "message"):
            if isinstance(ev.get(k), str):
                ev[k] = FRAME_REF.sub("frame #", NDPI_NOTE.sub("", ev[k]))
        out.append(json.dumps(ev, sort_keys=True))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="keep the rewritten capture in this directory")
    a = ap.parse_args()
    if not os.path.exists(a.capture):
        print("SKIP: %s is absent" % a.capture)
        return 77
    if a.mode == "frag" and importlib.util.find_spec("scapy") is None:
        print("SKIP: scapy (Debian python3-scapy) is not installed: resegment.py needs it for frag")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(a.keep or tmp, "%s.%s.pcap" % (
            os.path.basename(a.capture).rsplit(".", 1)[0], a.mode))
        r = subprocess.run([sys.executable, os.path.join(HERE, "resegment.py"), a.mode,
                            a.capture, out, "--seed", str(a.seed)], capture_output=True, text=True)
        print(r.stdout.strip() or r.stderr.strip())
        if r.returncode == 4:
            print("SKIP: resegment.py reads pcap files only")
            return 77
        if r.returncode == 3:
            print("SKIP: %s does not apply to any packet of this capture" % a.mode)
            return 77
        if r.returncode != 0:
            print("FAIL: resegment.py exited with %d" % r.returncode)
            return 1
        want, got = events(a.ftpinspect, a.capture), events(a.ftpinspect, out)
    if want == got:
        print("same %d events (%s)" % (len(want), a.mode))
        return 0
    only_want = [e for e in want if e not in got]
    only_got = [e for e in got if e not in want]
    print("FAIL: %s changes the result (%d events before, %d after)" % (a.mode, len(want),
                                                                          len(got)))
    for e in only_want:
        print("  - " + e)
    for e in only_got:
        print("  + " + e)
    return 1


if __name__ == "__main__":
    sys.exit(main())
