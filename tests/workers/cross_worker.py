#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A data connection from another client address than its control connection: under --workers N
it lands on another worker (the store says it claimed an entry), and the output still links it
to its session (a data event with the session's id, announced, and data_ip_mismatch on that
session; the session counts the data connection). Exit 0 = so, 1 = not."""
import argparse
import json
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()
    cmd = [a.ftpinspect, "-r", a.pcap, "--format", "json", "--stats", "--no-progress",
           "--workers", str(a.workers)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    errs = []
    if p.returncode not in (0, 3):
        print(f"FAIL: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
        return 1
    m = re.search(r"claimed (\d+)", p.stderr)
    if not m or int(m.group(1)) < 1:
        errs.append(f"no entry was claimed across workers: {p.stderr.strip()}")
    evs = [json.loads(x) for x in p.stdout.splitlines()]
    sessions = [e for e in evs if e.get("event") == "session"]
    datas = [e for e in evs if e.get("event") == "data"]
    mism = [e for e in evs if e.get("event") == "finding" and e.get("kind") == "data_ip_mismatch"]
    cross = [d for d in datas if sessions and d["client"]["ip"] != sessions[0]["client"]["ip"]]
    if len(sessions) != 1:
        errs.append(f"{len(sessions)} sessions, expected 1")
    elif not cross:
        errs.append("no data event for the connection from the other client address")
    else:
        s, d = sessions[0], cross[0]
        if d.get("session") != s.get("session") or d.get("link") != "announced":
            errs.append(f"data event not linked to the session: {d}")
        if not mism or mism[0].get("session") != s.get("session"):
            errs.append(f"no data_ip_mismatch on the session: {mism}")
        if "data_ip_mismatch" not in s.get("findings", []):
            errs.append(f"the session's findings lack data_ip_mismatch: {s.get('findings')}")
        if s.get("data_connections") != len(datas):
            errs.append(f"session counts {s.get('data_connections')} data connections, "
                        f"{len(datas)} data events")
    for e in errs:
        print("FAIL:", e)
    if not errs:
        print(f"ok: linked across workers ({m.group(0)})")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
