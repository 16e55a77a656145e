#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Generates the small captures the CLI tests read (needs python3-scapy; the outputs are
committed, so the tests themselves need only the standard library).

ftp_login.pcap   clear-text FTP: handshake, 220, USER alice/331, PASS/230, PASV/227, passive data
                 connection with RETR hello.txt (150, 12 bytes, 226), QUIT/221, FINs.
ftp_anon.pcap    (and ftp_anon.pcapng, the same packets) a second session, later in time,
                 from another client: anonymous login, EPSV,
                 LIST, QUIT.
ftp_hostile.pcap control bytes, ANSI escapes, invalid UTF-8 and a backslash in the banner, the
                 user name and a reply; a failed login.
truncated.pcap   ftp_login.pcap cut in the middle of a packet record.
not_a_pcap.pcap  text, not a capture.
Run: /usr/bin/python3 make_pcaps.py (from this folder).
"""
import os
from decimal import Decimal

from scapy.all import IP, TCP, Ether, Raw, wrpcap  # noqa: E402
from scapy.utils import PcapNgWriter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SMAC, CMAC = "02:00:00:00:00:01", "02:00:00:00:00:02"


class Conn:
    """One TCP connection; builds packets with consistent sequence numbers."""

    def __init__(self, pkts, clock, cip, cport, sip, sport):
        self.pkts, self.clock = pkts, clock
        self.c, self.s = (cip, cport), (sip, sport)
        self.cseq, self.sseq = 1000, 5000

    def _pkt(self, from_client, flags, payload=b""):
        src, dst = (self.c, self.s) if from_client else (self.s, self.c)
        smac, dmac = (CMAC, SMAC) if from_client else (SMAC, CMAC)
        seq = self.cseq if from_client else self.sseq
        ack = self.sseq if from_client else self.cseq
        p = (Ether(src=smac, dst=dmac) / IP(src=src[0], dst=dst[0]) /
             TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq, ack=ack, window=64240))
        if payload:
            p = p / Raw(payload)
        self.clock[0] += Decimal("0.01")
        p.time = self.clock[0]
        self.pkts.append(p)
        n = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        if from_client:
            self.cseq += n
        else:
            self.sseq += n

    def open(self):
        self._pkt(True, "S")
        self.sseq -= 0
        p = self.pkts[-1]
        p[TCP].ack = 0
        self._pkt(False, "SA")
        self._pkt(True, "A")

    def cli(self, data):
        self._pkt(True, "PA", data)
        self._pkt(False, "A")

    def srv(self, data):
        self._pkt(False, "PA", data)
        self._pkt(True, "A")

    def close(self):
        self._pkt(True, "FA")
        self._pkt(False, "FA")
        self._pkt(True, "A")


def login_session(t0):
    pkts, clock = [], [t0]
    ctl = Conn(pkts, clock, "10.0.0.2", 40312, "10.0.0.1", 21)
    ctl.open()
    ctl.srv(b"220 (vsFTPd 3.0.3)\r\n")
    ctl.cli(b"USER alice\r\n")
    ctl.srv(b"331 Please specify the password.\r\n")
    ctl.cli(b"PASS s3cret\r\n")
    ctl.srv(b"230 Login successful.\r\n")
    ctl.cli(b"PASV\r\n")
    ctl.srv(b"227 Entering Passive Mode (10,0,0,1,195,81).\r\n")
    data = Conn(pkts, clock, "10.0.0.2", 40313, "10.0.0.1", 50001)
    data.open()
    ctl.cli(b"RETR hello.txt\r\n")
    ctl.srv(b"150 Opening BINARY mode data connection for hello.txt (12 bytes).\r\n")
    data.srv(b"hello world\n")
    data._pkt(False, "FA")
    data._pkt(True, "FA")
    data._pkt(False, "A")
    ctl.srv(b"226 Transfer complete.\r\n")
    ctl.cli(b"QUIT\r\n")
    ctl.srv(b"221 Goodbye.\r\n")
    ctl.close()
    return pkts


def anon_session(t0):
    pkts, clock = [], [t0]
    ctl = Conn(pkts, clock, "10.0.0.3", 41000, "10.0.0.1", 21)
    ctl.open()
    ctl.srv(b"220 (vsFTPd 3.0.3)\r\n")
    ctl.cli(b"USER anonymous\r\n")
    ctl.srv(b"331 Please specify the password.\r\n")
    ctl.cli(b"PASS guest@example.com\r\n")
    ctl.srv(b"230 Login successful.\r\n")
    ctl.cli(b"EPSV\r\n")
    ctl.srv(b"229 Entering Extended Passive Mode (|||50002|)\r\n")
    data = Conn(pkts, clock, "10.0.0.3", 41001, "10.0.0.1", 50002)
    data.open()
    ctl.cli(b"LIST\r\n")
    ctl.srv(b"150 Here comes the directory listing.\r\n")
    data.srv(b"-rw-r--r--    1 0        0              12 Jan 01 00:00 hello.txt\r\n")
    data._pkt(False, "FA")
    data._pkt(True, "FA")
    data._pkt(False, "A")
    ctl.srv(b"226 Directory send OK.\r\n")
    ctl.cli(b"QUIT\r\n")
    ctl.srv(b"221 Goodbye.\r\n")
    ctl.close()
    return pkts


def hostile_session(t0):
    """Control bytes, an ANSI escape, invalid UTF-8 and a backslash in wire strings."""
    pkts, clock = [], [t0]
    ctl = Conn(pkts, clock, "10.0.0.4", 42000, "10.0.0.1", 21)
    ctl.open()
    ctl.srv(b"220 evil\x1b[2J\x07 server \xff\xfe\r\n")
    ctl.cli(b"USER ev\x1b[31mil\tuser\\\xc3\x28\r\n")
    ctl.srv(b"331 ok \x00\x1b]0;title\x07\r\n")
    ctl.cli(b"PASS x\r\n")
    ctl.srv(b"530 Login incorrect.\r\n")
    ctl.cli(b"QUIT\r\n")
    ctl.srv(b"221 Goodbye.\r\n")
    ctl.close()
    return pkts


def main():
    login = login_session(Decimal(1700000000))
    wrpcap(os.path.join(HERE, "ftp_login.pcap"), login)
    anon = anon_session(Decimal(1700000100))
    wrpcap(os.path.join(HERE, "ftp_anon.pcap"), anon)
    w = PcapNgWriter(os.path.join(HERE, "ftp_anon.pcapng"))
    for p in anon:
        w.write(p)
    w.close()
    wrpcap(os.path.join(HERE, "ftp_hostile.pcap"), hostile_session(Decimal(1700000200)))
    raw = open(os.path.join(HERE, "ftp_login.pcap"), "rb").read()
    # Global header (24) + some records, then cut inside a record.
    cut = 24 + (16 + len(login[0])) + (16 + len(login[1])) + (16 + len(login[2])) + \
        (16 + len(login[3])) + 16 + 10
    open(os.path.join(HERE, "truncated.pcap"), "wb").write(raw[:cut])
    with open(os.path.join(HERE, "not_a_pcap.pcap"), "w") as f:
        f.write("This is not a capture file.\n")


if __name__ == "__main__":
    main()
