#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Live sensors sharing through Redis (issue 16; docs/sensors.md): two `ftpinspect -i` processes,
each on its own veth link, fed by tcpreplay, against one redis-server, report together what one
sensor reading the whole capture reports: the same data connections (commands, files, bytes,
status) and findings, each once.

Layout: namespace S holds the two capturing ends and a redis-server on its own loopback (so the
test touches no address outside the namespaces it creates); namespaces A and B hold the sending
ends. Sensor a sees the control connection (link A), sensor b the rest (link B).

The two halves must keep their order in time: replayed one after the other, the data
connections would come after their session ended (and one sensor would not link them either).
So one sender plays the capture once, in its own timing, each packet onto the link of its half
(two AF_PACKET sockets, one opened in each sending namespace); tcpreplay plays the control half
alone first, as a check that the links carry what tcpreplay sends. Modes, for each capture:
  together       both halves in the capture's order and timing: the data SYN reaches sensor b
                 milliseconds after the 227 reached sensor a, before a has published it (a
                 publishes in batches, and both read their link by 1 s blocks)
  control-late   sensor a is stopped (SIGSTOP) while the capture is played and resumed 1 s later:
                 sensor b sees the data connection, and looks it up, before sensor a has read
                 the 227 at all; the lookup waits (pending) within --share-wait (3 s)

Needs root, `ip netns`, tcpreplay, tcpdump and redis-server: exits 77 (skipped) otherwise.
Namespaces and links are named rd3*-PID and removed at the end.
Usage: live_sensors.py FTPINSPECT CAPTURE...   (CTest labels "live;sensors")"""
import os
import shutil
import signal
import subprocess
import sys
import ctypes
import socket
import struct
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from share_test import events, explain, facts  # noqa: E402

SKIP = 77
PID = os.getpid() % 100000
NS_S, NS_A, NS_B = "rd3s-%d" % PID, "rd3a-%d" % PID, "rd3b-%d" % PID
CAP_A, CAP_B = "rd3ca%d" % PID, "rd3cb%d" % PID  # capturing ends, in S
TX_A, TX_B = "rd3ta%d" % PID, "rd3tb%d" % PID    # sending ends, in A and B
PORT = 6400


def skip(why):
    print("SKIP:", why)
    sys.exit(SKIP)


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def nsx(ns, *args):
    return ["ip", "netns", "exec", ns] + list(args)


def setup():
    for ns in (NS_S, NS_A, NS_B):
        sh("ip", "netns", "add", ns)
    sh("ip", "-n", NS_S, "link", "set", "lo", "up")
    for tx, ns, cap in ((TX_A, NS_A, CAP_A), (TX_B, NS_B, CAP_B)):
        sh("ip", "link", "add", tx, "netns", ns, "type", "veth", "peer", "name", cap,
           "netns", NS_S)
        sh("ip", "-n", ns, "link", "set", tx, "mtu", "65535", "up")
        sh("ip", "-n", NS_S, "link", "set", cap, "mtu", "65535", "up")
        sh(*nsx(NS_S, "ethtool", "-K", cap, "rx", "off", "tx", "off", "gro", "off"),
           check=False)


def teardown():
    for ns in (NS_S, NS_A, NS_B):
        pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
        for p in pids:
            try:
                os.kill(int(p), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        sh("ip", "netns", "del", ns, check=False)


def rcli(*args):
    return sh(*nsx(NS_S, "redis-cli", "-p", str(PORT), *args), check=False).stdout


def sensor(exe, name, iface, flt):
    args = nsx(NS_S, exe, "-i", iface, "--allow-root", "-B", "131072", "--format", "json", "-q",
               "--stats", "--share", "redis://127.0.0.1:%d" % PORT, "--sensor", name,
               "--share-wait", "3") + flt
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pcap_records(path):
    """(timestamp in seconds, packet bytes) of each record of a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        out.append((sec + frac / (1e9 if nano else 1e6), data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out


def ns_socket(ns, iface):
    """An AF_PACKET socket on iface of namespace ns (the calling thread goes there and back)."""
    libc = ctypes.CDLL(None, use_errno=True)
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open("/var/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(there, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + ns)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((iface, 0))
        if libc.setns(here, 0x40000000) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(here)
        os.close(there)
    return s


def play(cap, ctl):
    """Plays cap once in its own timing: the packets of the control half (ctl) onto link A, the
    others onto link B."""
    mine = {rec for rec in pcap_records(ctl)}
    sa, sb = ns_socket(NS_A, TX_A), ns_socket(NS_B, TX_B)
    recs = pcap_records(cap)
    t0, w0 = recs[0][0], time.monotonic()
    for ts, pkt in recs:
        due = w0 + min(ts - t0, 30.0)
        while time.monotonic() < due:
            time.sleep(max(0.0, min(due - time.monotonic(), 0.001)))
        (sa if (ts, pkt) in mine else sb).send(pkt)
    sa.close()
    sb.close()


def replay(ns, iface, pcap):
    return subprocess.Popen(nsx(ns, "tcpreplay", "-q", "-i", iface, "--pps=1000", pcap),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one(exe, cap, mode, ctl, want):
    rcli("FLUSHALL")
    pa = sensor(exe, "a", CAP_A, [])
    pb = sensor(exe, "b", CAP_B, [])
    time.sleep(1.5)
    if mode == "control-late":
        # (ip netns exec runs the sensor itself: exec, the same process)
        os.kill(pa.pid, signal.SIGSTOP)
        play(cap, ctl)
        time.sleep(1.0)
        os.kill(pa.pid, signal.SIGCONT)
    else:
        play(cap, ctl)
    time.sleep(5)  # the 1 s blocks, answers within --share-wait (3 s), then a clean end
    for p in (pa, pb):
        p.send_signal(signal.SIGINT)
    oa, ea = pa.communicate(timeout=60)
    ob, eb = pb.communicate(timeout=60)
    ev_a, ev_b = events(oa), events(ob)
    got = facts(ev_a + ev_b)
    remote = [e for e in ev_b if e["event"] == "data" and e["link"] == "announced"]
    ok = (pa.returncode == 0 and pb.returncode == 0 and got == want and
          all(e.get("control_sensor") == "a" for e in remote))
    print("%s %s %s: exit %d/%d, %d facts (want %d), data events linked at b: %d" %
          ("ok" if ok else "FAIL", os.path.basename(cap), mode, pa.returncode, pb.returncode,
           len(got), len(want), len(remote)))
    explain(ev_a + ev_b, got, want, ok, ea, eb)
    return ok


def links_carry(exe, ctl):
    """tcpreplay's control half on link A reaches a sensor there (the links work)."""
    p = subprocess.Popen(nsx(NS_S, exe, "-i", CAP_A, "--allow-root", "--format", "json", "-q",
                             "--stats"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(1.5)
    replay(NS_A, TX_A, ctl).wait()
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    n = sum(1 for e in events(out) if e["event"] == "session")
    print("%s tcpreplay onto link A: %d session(s) seen" % ("ok" if n else "FAIL", n))
    return n > 0


def main():
    exe, caps = os.path.abspath(sys.argv[1]), sys.argv[2:]
    if os.geteuid() != 0:
        skip("not root")
    for tool in ("ip", "tcpreplay", "tcpdump", "redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            skip("%s not installed" % tool)
    if sh("ip", "netns", "list", check=False).returncode != 0:
        skip("ip netns unavailable")
    fails = 0
    try:
        try:
            setup()
        except subprocess.CalledProcessError as e:
            skip("cannot create namespaces or veth links: %s" % (e.stderr or "").strip())
        with tempfile.TemporaryDirectory() as tmp:
            rs = subprocess.Popen(nsx(NS_S, "redis-server", "--port", str(PORT), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--dir", tmp),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(50):
                if "PONG" in rcli("PING"):
                    break
                time.sleep(0.1)
            else:
                print("FAIL: redis-server did not start in the namespace")
                return 1
            for cap in caps:
                whole = sh(exe, "-r", cap, "--format", "json", "-q")
                want = facts(events(whole.stdout))
                ctl = os.path.join(tmp, "ctl.pcap")
                sh("tcpdump", "-r", cap, "-w", ctl, "tcp port 21")
                if cap == caps[0] and not links_carry(exe, ctl):
                    fails += 1
                for mode in ("together", "control-late"):
                    # A data connection is decided once whatever the timing (the owner's
                    # "missing" verdict is taken in Redis like a claim), but on a loaded host
                    # a sensor can still decide before the other's SYN was read (its capture
                    # lagging behind its idle clock), which changes what is reported, not how
                    # often. A case that fails runs once more; the first result stays printed.
                    if not one(exe, cap, mode, ctl, want):
                        print("   (again: live timing on a loaded host)")
                        if not one(exe, cap, mode, ctl, want):
                            fails += 1
            rs.terminate()
            rs.wait()
    finally:
        teardown()
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
