#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""fanout_split.py - does a live --workers run spread a replayed capture by host pair as the
fanout program (tools/ftpinspect/fanout.c) means to? Computes, from the pcap, which worker each
packet must reach (an independent reimplementation of the program's hash: IPv4 source ^
destination, IPv6 the XOR of the eight address words, behind up to two VLAN tags; mixed, modulo
n; anything else to worker 0) and checks the "packets per worker" line of ftpinspect's stderr:
every worker got at least the packets that hash to it (the interface's own packets, neighbour
discovery and the like, only add). Frames longer than the link's MTU after their link header
(the lab captures' offloaded segments) are left out: the replay cannot send them.
Exit 1 with both lists otherwise.
Usage: fanout_split.py PCAP N STDERR_FILE [MTU, default 9000]"""
import re
import struct
import sys


def mix(a, n):
    a ^= a >> 16
    a = (a * 0x9E3779B1) & 0xFFFFFFFF
    a ^= a >> 16
    return a % n


def worker(pkt, wirelen, n, mtu):
    """The worker of a frame, or None when the replay cannot send it."""
    if len(pkt) < 14:
        return 0
    et, off = struct.unpack(">H", pkt[12:14])[0], 14
    for _ in range(2):
        if et not in (0x8100, 0x88A8) or len(pkt) < off + 4:
            break
        et, off = struct.unpack(">H", pkt[off + 2:off + 4])[0], off + 4
    if wirelen - off > mtu:
        return None
    if et == 0x0800 and len(pkt) >= off + 20:
        s, d = struct.unpack(">II", pkt[off + 12:off + 20])
        return mix(s ^ d, n)
    if et == 0x86DD and len(pkt) >= off + 40:
        a = 0
        for x in struct.unpack(">8I", pkt[off + 8:off + 40]):
            a ^= x
        return mix(a, n)
    return 0


def expected(path, n, mtu):
    counts = [0] * n
    with open(path, "rb") as f:
        hdr = f.read(24)
        end = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        if struct.unpack(end + "I", hdr[20:24])[0] != 1:
            sys.exit("not an Ethernet pcap: " + path)
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            incl, orig = struct.unpack(end + "IIII", h)[2:]
            k = worker(f.read(incl), orig, n, mtu)
            if k is not None:
                counts[k] += 1
    return counts


def main():
    path, n, err = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    want = expected(path, n, int(sys.argv[4]) if len(sys.argv) > 4 else 9000)
    m = re.search(r"spread by host pair, packets per worker ([0-9 /]+)", open(err).read())
    if m is None:
        print("no 'spread by host pair' line")
        return 1
    got = [int(x) for x in m.group(1).split("/")]
    if len(got) != n or any(g < w for g, w in zip(got, want)):
        print("packets per worker: expected at least %s, got %s" % (want, got))
        return 1
    print("split %s (at least %s)" % (" / ".join(map(str, got)), " / ".join(map(str, want))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
