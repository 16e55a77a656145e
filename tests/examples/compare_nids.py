#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The stream API as an IDS host calls it: examples/libnids/ftpi_nids (libnids reassembles, the
library gets ftpi_stream_* calls, with each direction's bytes delivered when acknowledged) must
report the CLI's sessions, data connections and findings on every capture libnids can read
(IPv4, connections seen from their SYN, a link type libnids knows).

usage: compare_nids.py FTPINSPECT FTPI_NIDS CAPTURE...      exit 0 when all agree, 1 otherwise
"""
import collections
import json
import subprocess
import sys

# What libnids cannot hand over, so the CLI's figures cannot be expected from it.
LIBNIDS_LIMITS = ("ipv6", "_sll2", "_vlan", "qinq", "midstream", "mid_session", "lossy")


def ep(v):
    return f"{v['ip']}:{v['port']}"


def cli_lines(ftpinspect, pcap):
    out = subprocess.run([ftpinspect, "-r", pcap, "--format", "json", "--no-progress"],
                         capture_output=True, text=True, check=False).stdout
    lines = []
    for raw in out.splitlines():
        ev = json.loads(raw)
        kind = ev.get("event")
        if kind == "session":
            lines.append(f"session {ep(ev['client'])} {ep(ev['server'])} "
                         f"user={ev.get('user') or ''} login={ev.get('login')}")
        elif kind == "data":
            lines.append(f"data {ep(ev['client'])} {ep(ev['server'])} link={ev['link']} "
                         f"command={ev.get('command') or ''} status={ev.get('status') or 'null'} "
                         f"bytes={ev['bytes_to_server'] + ev['bytes_to_client']}")
        elif kind == "finding":
            if ev["kind"] == "capture_loss":
                continue
            lines.append(f"finding {ev['kind']} {ep(ev['client'])} {ep(ev['server'])}")
    return collections.Counter(lines)


def nids_lines(ftpi_nids, pcap):
    p = subprocess.run([ftpi_nids, pcap], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        return None
    return collections.Counter(l for l in p.stdout.splitlines() if l)


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    ftpinspect, ftpi_nids, pcaps = sys.argv[1], sys.argv[2], sys.argv[3:]
    same = differ = skipped = 0
    for pcap in pcaps:
        if any(k in pcap for k in LIBNIDS_LIMITS):
            skipped += 1
            continue
        want, got = cli_lines(ftpinspect, pcap), nids_lines(ftpi_nids, pcap)
        if got is None:
            print(f"SKIP {pcap}: libnids cannot read it")
            skipped += 1
            continue
        if want == got:
            same += 1
            continue
        differ += 1
        print(f"DIFF {pcap}")
        for line in sorted((want - got).elements()):
            print(f"  cli only:  {line}")
        for line in sorted((got - want).elements()):
            print(f"  nids only: {line}")
    print(f"{same} captures identical, {differ} different, {skipped} outside libnids' reach")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
