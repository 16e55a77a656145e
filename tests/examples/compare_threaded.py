#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The threaded host example (examples/threaded/ftpi_threaded: one reader, N engines on N threads
with one shared expectation store, one writer) must report the sessions, data connections and
findings of `ftpinspect --workers 1` on every capture, for every worker count given. Ids and
timing are left out (session ids become "linked": true/false, "session <id>" in texts becomes
"session N"); the events are compared as multisets. Then the cross-thread claim: on the capture
given with --claim, the data connection from a second client address must be claimed from the
store (claimed >= 1 with 4 workers) and linked to its session, with data_ip_mismatch.

usage: compare_threaded.py --ftpinspect CLI --example EX [--workers 1,2,4] [--by-conn N]
                           [--claim PCAP] PATH...
PATH: captures, or folders searched for *.pcap*.
Exit 0 = all agree, 1 = a difference (printed), 77 = no capture found."""
import argparse
import collections
import glob
import json
import os
import re
import gzip
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workers"))
from compare import find_pcaps  # noqa: E402  (tests/workers/compare.py)

KEYS = {
    "session": ("client", "server", "user", "login", "tls", "prot", "commands",
                "data_connections", "findings", "incomplete", "tls_version", "tls_sni"),
    "data": ("client", "server", "link", "announced_by", "mode", "command", "file",
             "bytes_to_server", "bytes_to_client", "tls", "status", "used_address",
             "tls_version", "tls_cipher"),
    "finding": ("client", "server", "kind", "severity", "message", "evidence"),
}


def norm(ev):
    kind = ev.get("event")
    if kind not in KEYS:
        return None
    out = {"event": kind}
    out["linked"] = ev["linked"] if "linked" in ev else ev.get("session") is not None
    for k in KEYS[kind]:
        v = ev.get(k)
        if isinstance(v, str):
            v = re.sub(r"session \d+", "session N", v)
        out[k] = v
    return json.dumps(out, sort_keys=True)


def lines(stdout):
    c = collections.Counter()
    for raw in stdout.splitlines():
        n = norm(json.loads(raw))
        if n is not None:
            c[n] += 1
    return c


def cli_events(cli, pcap):
    p = subprocess.run([cli, "-r", pcap, "--format", "json", "--no-progress", "--workers", "1"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode not in (0, 3):
        raise RuntimeError(f"ftpinspect -r {pcap} exited {p.returncode}: {p.stderr.strip()}")
    return lines(p.stdout)


def example(ex, pcap, n, by_conn=False):
    if pcap.endswith(".gz"):  # libpcap reads plain files: the example gets the capture unpacked
        with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
            with gzip.open(pcap, "rb") as src:
                shutil.copyfileobj(src, tmp)
            tmp.flush()
            return example(ex, tmp.name, n, by_conn)
    cmd = [ex, "-n", str(n), "-s"] + (["-c"] if by_conn else []) + [pcap]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def check_claim(ex, pcap):
    p = example(ex, pcap, 4)
    errs = []
    m = re.search(r"claimed (\d+)", p.stderr)
    if not m or int(m.group(1)) < 1:
        errs.append(f"no expectation was claimed across threads: {p.stderr.strip()}")
    evs = [json.loads(x) for x in p.stdout.splitlines()]
    sessions = [e for e in evs if e["event"] == "session"]
    if len(sessions) != 1:
        return errs + [f"{len(sessions)} sessions, expected 1"]
    s = sessions[0]
    cross = [e for e in evs if e["event"] == "data" and e["client"]["ip"] != s["client"]["ip"]]
    mism = [e for e in evs if e["event"] == "finding" and e["kind"] == "data_ip_mismatch"]
    if not cross or not cross[0]["linked"] or cross[0]["link"] != "announced":
        errs.append(f"the data connection from the other client address is not linked: {cross}")
    if not mism or "data_ip_mismatch" not in s["findings"]:
        errs.append("no data_ip_mismatch on the session")
    if not errs:
        print(f"ok: cross-thread claim on {os.path.basename(pcap)} ({m.group(0)}, "
              f"data from {cross[0]['client']['ip']} linked to the session of "
              f"{s['client']['ip']})")
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--example", required=True)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--by-conn", type=int, default=0,
                    help="also run with this many workers sharded by connection (-c)")
    ap.add_argument("--claim", help="capture with a data connection from another client address")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    pcaps = find_pcaps(a.paths)
    if not pcaps:
        print(f"SKIP: no capture under {a.paths} (public captures are not part of this clone)")
        return 77
    runs = [(int(n), False) for n in a.workers.split(",")]
    if a.by_conn:
        runs.append((a.by_conn, True))
    bad = 0
    events = 0
    for pcap in pcaps:
        want = cli_events(a.ftpinspect, pcap)
        events += sum(want.values())
        for n, by_conn in runs:
            got = lines(example(a.example, pcap, n, by_conn).stdout)
            if got == want:
                continue
            bad += 1
            print(f"FAIL {pcap} with {n} threads{' by connection' if by_conn else ''}")
            for x in sorted((want - got).elements())[:5]:
                print(f"  cli only:     {x[:300]}")
            for x in sorted((got - want).elements())[:5]:
                print(f"  example only: {x[:300]}")
    desc = ", ".join(f"{n}{' by connection' if c else ''}" for n, c in runs)
    print(f"{len(pcaps) * len(runs) - bad}/{len(pcaps) * len(runs)} runs identical to "
          f"--workers 1 ({len(pcaps)} captures, {events} events each way; threads {desc})")
    errs = check_claim(a.example, a.claim) if a.claim else []
    for e in errs:
        print("FAIL:", e)
    return 1 if bad or errs else 0


if __name__ == "__main__":
    sys.exit(main())
