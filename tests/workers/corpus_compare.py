#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Builds a small corpus with bench/make_corpus.py from lab captures only (deterministic: the
same inputs and seed give the same bytes) and checks that ftpinspect gives the same events with
1 worker and with each N of --workers. The copies rewrite addresses with few digits, so one
server's sessions come from several clients and one client fails logins on several servers:
under the host-pair spread they land on several workers, and what one engine learns from all of
a server's or a client's sessions (the passive range that links an encrypted session's data
connections, the failed logins behind brute_force) must come out as with one engine.
It also checks that the merged server summaries come in endpoint order with their clients in
address order (the same bytes whichever worker flushes first).
Folders given as captures stand for their *.pcap files; with --ethernet-only, inputs of another
link type are left out (make_corpus.py takes one link type).
Exit 0 = the same, 1 = a difference (printed)."""
import argparse
import glob
import ipaddress
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def linktype(path):
    """The link type of a pcap file (not pcapng), or None."""
    with open(path, "rb") as f:
        h = f.read(24)
    if len(h) < 24:
        return None
    if h[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return struct.unpack("<I", h[20:24])[0]
    if h[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        return struct.unpack(">I", h[20:24])[0]
    return None


def inputs(paths, ethernet_only):
    out = []
    for p in paths:
        out += sorted(glob.glob(os.path.join(p, "*.pcap"))) if os.path.isdir(p) else [p]
    return [p for p in out if not ethernet_only or linktype(p) == 1]


def addr_key(ip):
    a = ipaddress.ip_address(ip)
    return (a.version, a.packed)


def server_order(ftpinspect, pcap, n):
    """Problems with the merged server summaries of --workers n: they must come in endpoint
    order with their clients in address order (the same bytes whichever worker flushed first)."""
    cmd = [ftpinspect, "-r", pcap, "--format", "json", "--no-progress", "--workers", str(n)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    servers = [json.loads(x) for x in p.stdout.splitlines() if '"event":"server"' in x]
    bad = []
    keys = [(addr_key(e["server"]["ip"]), e["server"]["port"]) for e in servers]
    if keys != sorted(keys):
        bad.append("server summaries not in endpoint order")
    for e in servers:
        if e["clients"] != sorted(e["clients"], key=addr_key):
            bad.append(f"clients of {e['server']} not in address order: {e['clients']}")
    multi = sum(1 for e in servers if len(e["clients"]) > 1)
    return bad, len(servers), multi


def compare_corpus(ftpinspect, out, seed, workers):
    """1 when a worker count gives other events than one engine on the corpus out."""
    one = compare.events(ftpinspect, out, 1)
    kinds = {}
    for x in one:
        for k in ('"link": "inferred"', '"link": "tls-resumption"', '"kind": "brute_force"',
                  '"kind": "data_ip_mismatch"', 'SYN without answer', '"helper_address": "'):
            kinds[k] = kinds.get(k, 0) + (k in x)
    print(f"seed {seed}: {len(one)} events with 1 worker ({kinds})")
    bad = 0
    for n in [int(x) for x in workers.split(",")]:
        many = compare.events(ftpinspect, out, n)
        if many != one:
            bad = 1
            only1 = [x for x in one if x not in many]
            onlyn = [x for x in many if x not in one]
            print(f"FAIL --workers {n}: {len(many)} events, {len(only1)} only with 1, "
                  f"{len(onlyn)} only with {n}")
            for x in only1[:5]:
                print(f"  only with 1: {x[:300]}")
            for x in onlyn[:5]:
                print(f"  only with {n}: {x[:300]}")
        else:
            print(f"--workers {n}: the same {len(many)} events")
        order, nsrv, multi = server_order(ftpinspect, out, n)
        if order or multi == 0:
            bad = 1
            print(f"FAIL --workers {n}: {order[:3] or 'no server with several clients'}")
        else:
            print(f"--workers {n}: {nsrv} server summaries in order, {multi} with several "
                  "clients in address order")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--make-corpus", required=True)
    ap.add_argument("--out", required=True, help="the corpus to write")
    ap.add_argument("--target-mb", type=float, default=3)
    ap.add_argument("--seed", default="1", help="make_corpus.py's seed; several: a,b,c")
    ap.add_argument("--workers", default="2,4")
    ap.add_argument("--ethernet-only", action="store_true")
    ap.add_argument("captures", nargs="+", help="captures, or folders of *.pcap")
    a = ap.parse_args()
    missing = [c for c in a.captures if not os.path.exists(c)]
    if missing:
        print(f"FAIL: missing captures {missing}")
        return 1
    caps = inputs(a.captures, a.ethernet_only)
    bad = 0
    for seed in str(a.seed).split(","):
        out = a.out if "," not in str(a.seed) else f"{a.out}.{seed}.pcap"
        subprocess.run([sys.executable, a.make_corpus, "--out", out, "--input", *caps,
                        "--target-mb", str(a.target_mb), "--seed", seed, "-q"], check=True)
        bad += compare_corpus(a.ftpinspect, out, seed, a.workers)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
