#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Runs ftpinspect over captures with --workers 1 and --workers N (-v --flows --summary, JSON) and
checks that both give the same set of events. Session ids are left out of the comparison (the
engines number sessions in their own ranges), and so are "session <id>" mentions in finding
text; the client lists of server summaries (also where a recommendation names them, allowing
or opening port 20 to them), and the
servers of the summary, are compared as sets (their order is the order the workers' events came
in). Exit 0 = the same everywhere, 1 = a difference (printed), 77 = no capture found."""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

SKIP = 77
RE_FROM = re.compile(r"from (\S+) to")
RE_PORT20 = re.compile(r"port 20 to ([^\s;,]+(?:,[^\s;,]+)*)")


def events(ftpinspect, pcap, workers):
    cmd = [ftpinspect, "-r", pcap, "--format", "json", "-v", "--flows", "--summary",
           "--no-progress", "--workers", str(workers)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    out = []
    for line in p.stdout.splitlines():
        e = json.loads(line)
        e.pop("session", None)
        for k in ("message", "evidence"):
            if isinstance(e.get(k), str):
                e[k] = re.sub(r"session \d+", "session N", e[k])
        if isinstance(e.get("clients"), list):
            e["clients"] = sorted(e["clients"])
        for sv in e.get("servers", []) or []:
            if isinstance(sv.get("clients"), list):
                sv["clients"] = sorted(sv["clients"])
        # a recommendation names the same clients, in that order
        for r in [e] + [row for sv in e.get("servers", []) or [] for row in sv.get("rows", [])]:
            if isinstance(r.get("recommendation"), str):
                r["recommendation"] = RE_FROM.sub(lambda m: "from " + ",".join(
                    sorted(m.group(1).split(","))) + " to", r["recommendation"])
                r["recommendation"] = RE_PORT20.sub(lambda m: "port 20 to " + ",".join(
                    sorted(m.group(1).split(","))), r["recommendation"])
        if isinstance(e.get("servers"), list):  # the summary lists servers as they came
            e["servers"] = sorted(e["servers"], key=lambda sv: json.dumps(sv, sort_keys=True))
        out.append(json.dumps(e, sort_keys=True))
    return sorted(out)


def find_pcaps(paths):
    """The captures named, and those under the folders named (*.pcap*, recursively)."""
    pcaps = []
    for p in paths:
        if os.path.isdir(p):
            pcaps += sorted(glob.glob(os.path.join(p, "**", "*.pcap*"), recursive=True))
        elif os.path.exists(p):
            pcaps.append(p)
    return pcaps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("paths", nargs="+", help="captures, or folders searched for *.pcap*")
    a = ap.parse_args()
    pcaps = find_pcaps(a.paths)
    if not pcaps:
        print(f"SKIP: no capture under {a.paths} (public captures are not part of this clone)")
        return SKIP
    bad = 0
    for pcap in pcaps:
        one = events(a.ftpinspect, pcap, 1)
        many = events(a.ftpinspect, pcap, a.workers)
        if one != many:
            bad += 1
            only1 = [x for x in one if x not in many]
            onlyn = [x for x in many if x not in one]
            print(f"FAIL {pcap}: {len(one)} events with 1 worker, {len(many)} with {a.workers}")
            for x in only1[:5]:
                print(f"  only with 1: {x[:300]}")
            for x in onlyn[:5]:
                print(f"  only with {a.workers}: {x[:300]}")
    print(f"{len(pcaps) - bad}/{len(pcaps)} captures give the same events with 1 and "
          f"{a.workers} workers")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
