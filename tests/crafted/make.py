#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the crafted captures of tests/crafted/ with scapy (Debian python3-scapy), each with its
truth file: one FTP login (clear text, passive RETR with its data connection) over every link
type and tunnel the decoder supports, and the TCP cases: out of order with a conflicting
overlap, sequence wrap-around, mid-stream pickup, a capture gap, and a snap length that cuts
payloads. Deterministic: fixed addresses, ports, sequence numbers and times.
Run: python3 tests/crafted/make.py (the files are committed; CI does not run this)."""
import json
import os

from scapy.all import (GRE, IP, TCP, Dot1AD, Dot1Q, Ether, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrHopByHop, Raw, conf, wrpcap)
from scapy.layers.l2 import CookedLinux
from scapy.utils import PcapWriter

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1700000000.0


class Conv:
    """A TCP conversation builder with explicit sequence numbers."""

    def __init__(self, v6, cport, sport, cisn=1000, sisn=5000, cli=None, srv=None):
        self.v6 = v6
        self.cli = cli or ("fd00::1" if v6 else "10.1.0.1")
        self.srv = srv or ("fd00::2" if v6 else "10.2.0.2")
        self.cport, self.sport = cport, sport
        self.seq = [cisn, sisn]
        self.pkts = []
        self.t = T0

    def ip(self, d):
        src, dst = (self.cli, self.srv) if d == 0 else (self.srv, self.cli)
        return IPv6(src=src, dst=dst) if self.v6 else IP(src=src, dst=dst)

    def tcp(self, d, flags, seq=None, ack=None, payload=b"", advance=True):
        sp, dp = (self.cport, self.sport) if d == 0 else (self.sport, self.cport)
        s = self.seq[d] if seq is None else seq
        a = self.seq[1 - d] if ack is None else ack
        p = self.ip(d) / TCP(sport=sp, dport=dp, flags=flags, seq=s & 0xffffffff,
                             ack=a & 0xffffffff, window=65535)
        if payload:
            p = p / Raw(payload)
        self.t += 0.001
        p.time = self.t
        self.pkts.append(p)
        if advance and seq is None:
            self.seq[d] += len(payload) + (1 if "S" in flags or "F" in flags else 0)
        return p

    def handshake(self):
        self.tcp(0, "S")
        self.tcp(1, "SA")
        self.tcp(0, "A")

    def say(self, d, text):
        self.tcp(d, "PA", payload=text.encode())

    def close(self):
        self.tcp(0, "FA")
        self.tcp(1, "FA")
        self.tcp(0, "A")


def login_conv(v6=False):
    """Control + data connection: clear login, PASV/EPSV, RETR of 3000 bytes."""
    c = Conv(v6, 40000, 21)
    c.handshake()
    c.say(1, "220 crafted server\r\n")
    c.say(0, "USER alice\r\n")
    c.say(1, "331 password please\r\n")
    c.say(0, "PASS s3cret\r\n")
    c.say(1, "230 welcome\r\n")
    if v6:
        c.say(0, "EPSV\r\n")
        c.say(1, "229 Entering Extended Passive Mode (|||50010|)\r\n")
    else:
        c.say(0, "PASV\r\n")
        c.say(1, "227 Entering Passive Mode (10,2,0,2,195,90).\r\n")
    d = Conv(v6, 40001, 50010, 7000, 9000)
    d.t = c.t
    d.handshake()
    c.t = d.t
    c.say(0, "RETR file.bin\r\n")
    c.say(1, "150 opening\r\n")
    d.t = c.t
    for i in range(3):
        d.say(1, "x" * 1000)
    d.close()
    c.t = d.t
    c.say(1, "226 done\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "221 bye\r\n")
    c.close()
    pkts = sorted(c.pkts + d.pkts, key=lambda p: p.time)
    return pkts


def truth(name, extra=None, v6=False, data=True, **kw):
    cli, srv = ("fd00::1", "fd00::2") if v6 else ("10.1.0.1", "10.2.0.2")
    sess = {"client_ip": cli, "client_port": 40000, "server_ip": srv, "server_port": 21,
            "user": "alice", "login": "success", "password_in_clear": True, "tls": "none"}
    if data:
        sess["data"] = [{"server_port": 50010, "mode": "passive",
                         "announced_by": "EPSV" if v6 else "PASV", "command": "RETR",
                         "file": "file.bin", "bytes": 3000, "tls": False,
                         "link": "announced", "status": "completed"}]
    t = {"pcap": name + ".pcap", "description": kw.get("desc", name),
         "sessions_exact": True, "sessions": [sess], "data_exact": data,
         "findings": {"plaintext_auth": {"min": 1, "max": 1},
                      "cleartext_data": {"min": 1, "max": 1}},
         "absent_findings": ["bounce", "data_ip_mismatch", "nat_private_pasv",
                             "data_connection_missing"],
         "secrets": ["s3cret"]}
    if extra:
        extra(t)
    with open(os.path.join(HERE, name + ".truth.json"), "w") as f:
        json.dump(t, f, indent=2)
        f.write("\n")


def write(name, pkts, linktype=None):
    path = os.path.join(HERE, name + ".pcap")
    if linktype is None:
        wrpcap(path, pkts)
    else:
        w = PcapWriter(path, linktype=linktype, sync=True)
        for p in pkts:
            w.write(p)
        w.close()


MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def main():
    conf.verb = 0
    for v6 in (False, True):
        sfx = "_v6" if v6 else ""
        base = login_conv(v6)

        def rebuild(fn):
            out = []
            for p in base:
                q = fn(p.copy())
                q.time = p.time
                out.append(q)
            return out

        write("link_ether" + sfx, rebuild(lambda p: Ether(**MAC) / p))
        truth("link_ether" + sfx, v6=v6, desc="Ethernet II")
        write("link_vlan" + sfx, rebuild(lambda p: Ether(**MAC) / Dot1Q(vlan=100) / p))
        truth("link_vlan" + sfx, v6=v6, desc="802.1Q tag")
        write("link_qinq" + sfx,
              rebuild(lambda p: Ether(**MAC) / Dot1AD(vlan=10) / Dot1Q(vlan=20) / p))
        truth("link_qinq" + sfx, v6=v6, desc="802.1ad outer + 802.1Q inner tag")
        write("link_sll" + sfx, rebuild(lambda p: CookedLinux(pkttype=0, lladdrtype=1,
                                                              lladdrlen=6) / p))
        truth("link_sll" + sfx, v6=v6, desc="Linux cooked v1")
        # SLL2: 20-byte header written by hand (protocol first)
        def sll2(p):
            proto = b"\x86\xdd" if v6 else b"\x08\x00"
            hdr = proto + b"\x00\x00" + b"\x00\x00\x00\x03" + b"\x00\x01" + b"\x00" + b"\x06"
            hdr += b"\x02\x00\x00\x00\x00\x01\x00\x00"
            return Raw(hdr + bytes(p))
        write("link_sll2" + sfx, rebuild(sll2), linktype=276)
        truth("link_sll2" + sfx, v6=v6, desc="Linux cooked v2")
        write("link_raw" + sfx, rebuild(lambda p: p), linktype=101)
        truth("link_raw" + sfx, v6=v6, desc="LINKTYPE_RAW")
        af = 30 if v6 else 2
        write("link_null" + sfx, rebuild(lambda p: Raw(af.to_bytes(4, "little") + bytes(p))),
              linktype=0)
        truth("link_null" + sfx, v6=v6, desc="BSD NULL (host order)")
        af = 24 if v6 else 2
        write("link_loop" + sfx, rebuild(lambda p: Raw(af.to_bytes(4, "big") + bytes(p))),
              linktype=108)
        truth("link_loop" + sfx, v6=v6, desc="BSD LOOP (network order)")
        outer = dict(src="192.0.2.1", dst="192.0.2.2")
        write("tunnel_gre" + sfx,
              rebuild(lambda p: Ether(**MAC) / IP(**outer) / GRE(proto=0x86dd if v6 else 0x0800) / p))
        truth("tunnel_gre" + sfx, v6=v6, desc="GRE")
        def erspan2(p):
            hdr = bytes([0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0])
            return (Ether(**MAC) / IP(**outer) / GRE(seqnum_present=1, seqence_number=7, proto=0x88be)
                    / Raw(hdr + bytes(Ether(**MAC) / p)))
        write("tunnel_erspan2" + sfx, rebuild(erspan2))
        truth("tunnel_erspan2" + sfx, v6=v6, desc="ERSPAN type II")
        def erspan3(p):
            hdr = bytes([0x20, 0x64, 0, 1, 1, 2, 3, 4, 0, 0, 0, 0])
            return (Ether(**MAC) / IP(**outer) / GRE(seqnum_present=1, seqence_number=9, proto=0x22eb)
                    / Raw(hdr + bytes(Ether(**MAC) / p)))
        write("tunnel_erspan3" + sfx, rebuild(erspan3))
        truth("tunnel_erspan3" + sfx, v6=v6, desc="ERSPAN type III")
    # IPv6 with extension headers
    base = login_conv(True)
    out = []
    for p in base:
        v = p[IPv6]
        q = Ether(**MAC) / IPv6(src=v.src, dst=v.dst) / IPv6ExtHdrHopByHop() / \
            IPv6ExtHdrDestOpt() / v[TCP]
        q.time = p.time
        out.append(q)
    write("ipv6_ext_headers", out)
    truth("ipv6_ext_headers", v6=True, desc="IPv6 hop-by-hop and destination options headers")

    # TCP cases on the control channel only
    def ctrl(name, desc, build, extra=None, linktype=None):
        c = Conv(False, 40000, 21)
        build(c)
        write(name, [Ether(**MAC) / p if linktype is None else p for p in c.pkts]
              if linktype is None else c.pkts, linktype)
        truth(name, extra=extra, data=False, desc=desc)

    def no_data(t):
        t["findings"].pop("cleartext_data")

    def ooo(c):
        c.handshake()
        c.say(1, "220 hi\r\n")
        base = c.seq[0]
        cmd = b"USER alice\r\nPASS s3cret\r\n"
        c.tcp(0, "PA", seq=base + 12, payload=cmd[12:])
        c.tcp(0, "PA", seq=base + 10, payload=b"\r\nPAZZ")  # conflicting overlap
        c.tcp(0, "PA", seq=base, payload=cmd[:12])
        c.seq[0] = base + len(cmd)
        c.say(1, "331 p\r\n230 ok\r\n")
        c.close()
    ctrl("tcp_out_of_order", "reversed and overlapping segments (policy FIRST)", ooo, no_data)

    def wrap(c):
        c.seq = [0xfffffff0, 0xfffffffa]
        c.handshake()
        c.say(1, "220 wrap\r\n")
        c.say(0, "USER alice\r\n")
        c.say(1, "331 p\r\n")
        c.say(0, "PASS s3cret\r\n")
        c.say(1, "230 ok\r\n")
        c.close()
    ctrl("tcp_wraparound", "sequence numbers cross 2^32", wrap, no_data)

    def mid(c):
        c.say(0, "USER alice\r\n")
        c.say(1, "331 p\r\n")
        c.say(0, "PASS s3cret\r\n")
        c.say(1, "230 ok\r\n")
        c.say(0, "QUIT\r\n")
        c.say(1, "221 bye\r\n")
    ctrl("tcp_midstream", "capture starts after the handshake", mid, no_data)

    def gap(c):
        c.handshake()
        c.say(1, "220 hi\r\n")
        c.say(0, "USER alice\r\n")
        c.say(1, "331 p\r\n")
        c.seq[0] += len("SYST\r\n")  # a client segment that the capture lost
        c.say(0, "PASS s3cret\r\n")
        c.tcp(1, "A")  # the server acknowledges past the hole
        c.say(1, "215 UNIX\r\n331 x\r\n230 ok\r\n")
        c.close()

    def gap_truth(t):
        no_data(t)
        t["findings"]["protocol_anomaly"] = {"min": 1}
    ctrl("tcp_gap", "a lost client segment acknowledged by the server", gap, gap_truth)

    # snap length 54: headers only on Ethernet IPv4, payloads cut: no FTP can be read
    pkts = [Ether(**MAC) / p for p in login_conv(False)]
    path = os.path.join(HERE, "tcp_snaplen.pcap")
    w = PcapWriter(path, linktype=1, snaplen=54, sync=True)
    for p in pkts:
        w.write(p)
    w.close()
    with open(os.path.join(HERE, "tcp_snaplen.truth.json"), "w") as f:
        json.dump({"pcap": "tcp_snaplen.pcap",
                   "description": "snap length 54: every payload is cut; nothing is read past it",
                   "sessions_exact": True, "sessions": [],
                   "absent_findings": ["plaintext_auth", "cleartext_data"]}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
