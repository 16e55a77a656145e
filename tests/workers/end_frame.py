#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes a small capture (Python only, deterministic) whose FTP session ends with a reply held
behind a lost segment, followed by packets between other hosts, and checks with compare.py that
--workers N gives the events of one engine. The held reply is read when the input ends (the
hole is skipped): one engine gives it the capture's last frame, which a worker's engine never
saw (the last packets went to other workers). Exit 0 = the same, 1 = a difference."""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

T0 = 1700000000


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def tcp_packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, 6, 0, ip4(src), ip4(dst))
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    return eth + iph + tcp + payload


def write(path):
    cli, srv = "10.7.0.1", "10.7.0.2"
    seq = [1000, 5000]
    pkts = []
    t = [T0 * 1000000]

    def send(d, flags, payload=b""):
        src, dst, sp, dp = (cli, srv, 40000, 21) if d == 0 else (srv, cli, 21, 40000)
        t[0] += 1000
        pkts.append((t[0], tcp_packet(src, dst, sp, dp, seq[d], seq[1 - d], flags, payload)))
        seq[d] += len(payload) + (1 if flags & 0x03 else 0)

    send(0, 0x02)         # SYN
    send(1, 0x12)         # SYN-ACK
    send(0, 0x10)
    for d, line in ((1, b"220 end-frame server\r\n"), (0, b"USER anonymous\r\n"),
                    (1, b"331 password please\r\n"), (0, b"PASS guest\r\n"),
                    (1, b"230 welcome\r\n"), (0, b"CWD /\r\n")):
        send(d, 0x18, line)
    seq[1] += len(b"200 lost segment\r\n")  # not captured: a hole before the next one
    send(1, 0x18, b"250 CWD command successful\r\n")  # held behind the hole until the end
    for i in range(8):  # other hosts: the capture's last frames belong to other workers
        t[0] += 1000
        pkts.append((t[0], tcp_packet(f"10.8.{i}.1", f"10.9.{i}.2", 41000 + i, 80, 1, 0, 0x02)))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for us, data in pkts:
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(data), len(data)))
            f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--out", required=True, help="the capture to write")
    ap.add_argument("--workers", default="2,4")
    a = ap.parse_args()
    write(a.out)
    one = compare.events(a.ftpinspect, a.out, 1)
    if not any('"code": 250' in x for x in one):
        print("FAIL: the unterminated reply was not reported with one worker")
        return 1
    bad = 0
    for n in [int(x) for x in a.workers.split(",")]:
        many = compare.events(a.ftpinspect, a.out, n)
        if many != one:
            bad += 1
            print(f"FAIL --workers {n}:")
            for x in [x for x in one if x not in many]:
                print(f"  only with 1: {x[:300]}")
            for x in [x for x in many if x not in one]:
                print(f"  only with {n}: {x[:300]}")
        else:
            print(f"--workers {n}: the same {len(many)} events")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
