#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""hostile.py - what traffic shaped against the engine's data structures costs.

Each pattern below makes a capture (bench/work/hostile-NAME.pcap, written here with fixed
contents) whose packets aim at one structure: a walk per packet over something the sender can
make long. The engine must stay near its cost on ordinary traffic; the bare libpcap loop on the
same file is the yardstick. Per pattern: packets, the bare loop's CPU time and ftpinspect's
(--format json, one thread), median of ROUNDS interleaved rounds (wait4's rusage), and the ratio.
The table goes to the "hostile" section of bench/results.md, with the commit.

  python3 bench/hostile.py                     # every pattern, build dir build-bench
  python3 bench/hostile.py --patterns frag-inorder spray
  python3 bench/hostile.py --base-cli OLD/ftpinspect   # an older CLI beside this one
Environment: BUILD_DIR (build-bench), ROUNDS (5).
"""
import argparse
import os
import statistics
import struct
import subprocess
import sys

from memload import ACK, PSH, SYN, Conn, Pcap
from sweep import bench_args, build, put_section, run_rusage

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
WORK = os.path.join(HERE, "work")
CLI, SRV = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


class Clock:
    """Capture time, a fixed step (microseconds) per call."""

    def __init__(self, step):
        self.t, self.step = 1_700_000_000_000_000, step

    def __call__(self):
        self.t += self.step
        return self.t


def say(k, ts, lines):
    """(to_server, bytes) pairs on connection k, each at its own time."""
    for to_server, line in lines:
        k.send(ts(), to_server, line)


def frag_datagrams(w, ts, odd_first):
    """40 datagrams of 65,000 bytes in 8-byte fragments (8,125 each)."""
    for d in range(40):
        payload = struct.pack("!HHIIBBHHH", 40000 + d, 21, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
        payload += b"A" * (65000 - len(payload))
        slots = list(range(0, len(payload), 8))
        for off in (slots[1::2] + slots[0::2]) if odd_first else slots:
            more = 0x2000 if off != slots[-1] else 0
            w.ip(ts(), struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, d + 1, more | off // 8, 64, 6,
                                   0, CLI, SRV) + payload[off:off + 8])


def pat_frag_inorder(w, ts):
    frag_datagrams(w, ts, False)


def pat_frag_zigzag(w, ts):
    frag_datagrams(w, ts, True)


LOGIN_REFUSED = ((1, b"USER root\r\n"), (0, b"331 pass\r\n"), (1, b"PASS guess\r\n"),
                 (0, b"530 no\r\n"))


def pat_pair_sessions(w, ts):
    """20,000 control sessions between one client and one server, open at once, then closed."""
    conns = []
    for i in range(20000):
        k = Conn(w, CLI, SRV, 10000 + i, 21)
        k.open(ts())
        say(k, ts, ((0, b"220 hi\r\n"),) + LOGIN_REFUSED)
        conns.append(k)
    for k in conns:
        k.close(ts())


def pat_spray(w, ts):
    """Password spraying: 8,000 client addresses, two sessions of three failed logins each."""
    for r in range(2):
        for i in range(8000):
            k = Conn(w, bytes([11, i >> 16 & 255, i >> 8 & 255, i & 255]), SRV, 20000 + r, 21)
            k.open(ts())
            say(k, ts, ((0, b"220 hi\r\n"),) + LOGIN_REFUSED * 3)
            k.close(ts())


def pat_old_resends(w, ts):
    """A control channel of 1,200 commands, then 60,000 copies of its old bytes."""
    k = Conn(w, CLI, SRV, 40000, 21)
    k.open(ts())
    say(k, ts, ((0, b"220 hi\r\n"),))
    base = k.cseq
    for i in range(1200):
        say(k, ts, ((1, b"CWD /pub/dir-%05d\r\n" % i), (0, b"250 ok\r\n")))
    for j in range(60000):
        i = 200 + j % 800  # older than the bytes kept: compared through the ranges' hashes
        w.packet(ts(), CLI, SRV, 40000, 21, base + 20 * i, k.sseq, PSH | ACK,
                 b"CWD /pub/dir-%05d\r\n" % i)
    k.close(ts())


def pat_same_port(w, ts):
    """5,000 sessions announcing one PORT, then 100,000 connection attempts to it."""
    for i in range(5000):
        k = Conn(w, CLI, SRV, 10000 + i, 21)
        k.open(ts())
        say(k, ts, ((0, b"220 hi\r\n"), (1, b"USER anonymous\r\n"), (0, b"331 pass\r\n"),
                    (1, b"PASS a@b\r\n"), (0, b"230 ok\r\n"),
                    (1, b"PORT 10,0,0,1,200,0\r\n"), (0, b"200 ok\r\n")))
    for j in range(100000):
        w.packet(ts(), SRV, CLI, 1024 + j % 60000, 51200, 77, 0, SYN)


PATTERNS = {
    "frag-inorder": ("IPv4 datagrams in 8-byte fragments, in offset order", pat_frag_inorder, 1),
    "frag-zigzag": ("the same, odd fragments first, then even", pat_frag_zigzag, 1),
    "pair-sessions": ("20,000 sessions open at once between two hosts", pat_pair_sessions, 10),
    "spray": ("failed logins from 8,000 addresses", pat_spray, 20),
    "old-resends": ("copies of a control channel's old bytes", pat_old_resends, 10),
    "same-port": ("5,000 sessions' PORT to one port, 100,000 SYNs to it", pat_same_port, 10),
}


def run_cpu(cmd):
    cpu, _wall, _rss, rc = run_rusage(cmd)
    if rc != 0:
        raise SystemExit("hostile: %s failed" % " ".join(cmd))
    return cpu


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patterns", nargs="+", default=list(PATTERNS), choices=list(PATTERNS))
    bench_args(ap, "5")
    a = ap.parse_args(argv)

    b = build(a.build_dir, ["pcap_read", "ftpinspect"])
    tools = [("bare", [os.path.join(b, "bench", "pcap_read")])]
    opts = ["--format", "json", "--no-read-ahead", "--max-sessions", "65536"]
    tools.append(("ftpinspect", [os.path.join(b, "tools", "ftpinspect", "ftpinspect")] + opts))
    if a.base_cli:
        tools.append(("base", [a.base_cli] + opts))
    os.makedirs(WORK, exist_ok=True)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    rows = []
    for name in a.patterns:
        what, make, step = PATTERNS[name]
        path = os.path.join(WORK, "hostile-%s.pcap" % name)
        w = Pcap(path)
        make(w, Clock(step))
        w.close()
        packets = w.n
        cpu = {t: [] for t, _ in tools}
        for _ in range(a.rounds):
            for t, cmd in tools:
                rd = ["-r", path] if t != "bare" else [path]
                cpu[t].append(run_cpu(cmd[:1] + rd + cmd[1:]))
        med = {t: statistics.median(v) for t, v in cpu.items()}
        rows.append((name, what, packets, med))
        line = "hostile: %-14s %9d packets  bare %.3f s" % (name, packets, med["bare"])
        for t, _ in tools[1:]:
            line += "  %s %.3f s (%.1fx)" % (t, med[t], med[t] / max(med["bare"], 1e-6))
        print(line, flush=True)
    if not a.no_md:
        put_section(os.path.join(HERE, "results.md"), table(rows, tools, commit, a.rounds),
                    "hostile")
    return 0


def table(rows, tools, commit, rounds):
    names = [t for t, _ in tools[1:]]
    out = ["## Hostile traffic (bench/hostile.py)", "",
           "Generated by `bench/hostile.py` at commit %s; median of %d interleaved rounds, CPU "
           "time (user + system from wait4) of `ftpinspect --format json --no-read-ahead` and "
           "of the bare `pcap_next_ex` loop on the same capture." % (commit, rounds), "",
           "| pattern | packets | bare loop | " + " | ".join(names) + " |",
           "|---|---:|---:|" + "---:|" * len(names)]
    for name, what, packets, med in rows:
        cells = ["%.3f s (%.1f×)" % (med[t], med[t] / max(med["bare"], 1e-6)) for t in names]
        out.append("| `%s`: %s | {:,} | %.3f s | %s |".format(packets) %
                   (name, what, med["bare"], " | ".join(cells)))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
