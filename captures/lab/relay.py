#!/usr/bin/python3
"""A small seeded layer-2 relay between two interfaces (raw AF_PACKET sockets).

Used by the captures lab where this kernel has no `tc netem` and no 802.1Q
driver:
  * impairment: drop / duplicate / reorder TCP segments that carry payload on
    the given ports, with a fixed random seed (deterministic decisions);
  * VLAN: insert an 802.1Q tag on frames sent out of --if2 and remove it from
    frames received there (a software 802.1Q access/trunk switch port).
Frames are forwarded byte for byte otherwise; the endpoints run with
checksum offload disabled, so checksums are already correct.  Decisions are
written to --log.
"""
import argparse
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 3
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4


def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((name, 0))
    return s


def tcp_info(frame):
    """(sport, dport, payload_len, seq) for an untagged IPv4 TCP frame, else None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 15) * 4
    if frame[23] != 6:
        return None
    tot = struct.unpack("!H", frame[16:18])[0]
    t = 14 + ihl
    sport, dport, seq = struct.unpack("!HHI", frame[t:t + 8])
    doff = (frame[t + 12] >> 4) * 4
    return sport, dport, tot - ihl - doff, seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--if1", required=True)
    ap.add_argument("--if2", required=True)
    ap.add_argument("--tag2", type=int, default=0, help="802.1Q VLAN id on the if2 side")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drop", type=float, default=0.0)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--ports", default="", help="LO-HI: impair only TCP with payload on these ports")
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    lo, hi = (map(int, a.ports.split("-")) if a.ports else (0, 65535))
    rnd = random.Random(a.seed)
    s1, s2 = open_if(a.if1), open_if(a.if2)
    out = {s1: s2, s2: s1}
    held = {s1: None, s2: None}     # frame held back for reordering, per output socket
    held_t = {s1: 0.0, s2: 0.0}
    log = open(a.log, "w", buffering=1)
    log.write("relay %s <-> %s tag2=%d seed=%d drop=%.3f dup=%.3f reorder=%.3f ports=%s\n"
              % (a.if1, a.if2, a.tag2, a.seed, a.drop, a.dup, a.reorder, a.ports))
    n = {"fwd": 0, "drop": 0, "dup": 0, "reorder": 0}

    def bye(*_):
        log.write("totals %s\n" % " ".join("%s=%d" % kv for kv in sorted(n.items())))
        log.close()
        sys.exit(0)
    signal.signal(signal.SIGTERM, bye)

    def send(sock, frame):
        sock.send(frame)

    while True:
        r, _, _ = select.select([s1, s2], [], [], 0.02)
        now = time.time()
        for o in (s1, s2):
            if held[o] is not None and now - held_t[o] > 0.02:
                send(o, held[o])
                held[o] = None
        for s in r:
            frame, anc, _, addr = s.recvmsg(65600, socket.CMSG_SPACE(32))
            if addr[2] == PACKET_OUTGOING:
                continue
            # remove a VLAN tag (inline, or reported by the kernel in auxdata)
            if frame[12:14] == b"\x81\x00":
                frame = frame[:12] + frame[16:]
            o = out[s]
            if o is s2 and a.tag2:
                frame = frame[:12] + struct.pack("!HH", 0x8100, a.tag2 & 0x0fff) + frame[12:]
            info = tcp_info(frame if not (o is s2 and a.tag2) else frame[:12] + frame[16:])
            act = "fwd"
            if info and info[2] > 0 and (lo <= info[0] <= hi or lo <= info[1] <= hi) \
                    and (a.drop or a.dup or a.reorder):
                x = rnd.random()
                if x < a.drop:
                    act = "drop"
                elif x < a.drop + a.dup:
                    act = "dup"
                elif x < a.drop + a.dup + a.reorder:
                    act = "reorder"
            n[act] += 1
            if act != "fwd":
                log.write("%.6f %s %s:%d->%d len=%d seq=%d\n" % (
                    now, act, "a" if s is s1 else "b", info[0], info[1], info[2], info[3]))
            if act == "drop":
                continue
            if act == "reorder" and held[o] is None:
                held[o], held_t[o] = frame, now
                continue
            send(o, frame)
            if act == "dup":
                send(o, frame)
            if held[o] is not None:
                send(o, held[o])
                held[o] = None


if __name__ == "__main__":
    sys.exit(main())
