#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""make_corpus.py - builds the large benchmark capture from small real ones.

It reads pcap files (not pcapng), makes many copies of each, shifts every copy in time and
rewrites its addresses and ports so that the copies are distinct flows, and merges all copies in
timestamp order into one pcap file. Only the Python standard library is used, and the output is
deterministic: the same inputs and options give the same bytes.

Rewriting, per copy:
  * IPv4 addresses are remapped octet by octet, each new octet with as many decimal digits as the
    old one, and the class of the address kept (10/8 keeps its first octet; 172.16/12,
    192.168/16, 169.254/16, 100.64/10 and public addresses keep the first two; multicast,
    broadcast and 0.0.0.0 are kept). The same mapping is applied to the text forms of those
    addresses in TCP payloads ("10.0.2.2" and "10,0,2,2" in PORT, 227, EPRT...). Because the text
    keeps its length, TCP sequence numbers stay valid.
  * IPv6 addresses get a new last group with the same number of hex digits (when it is not zero);
    their canonical text form in payloads is rewritten when found.
  * TCP/UDP ports >= 1024 that no payload announces (client ephemeral ports) are shifted by a
    per-copy offset; announced data ports and server ports (targets of a SYN) are kept.
  * IPv4 header, TCP and UDP checksums are updated incrementally (RFC 1624), so a checksum that was
    right stays right and one that was wrong (offload) stays wrong.
Copy k starts at T0 + k * stride; packets inside a copy keep their original spacing (a gap over
10 minutes becomes 1 s: some public files are samples of packets from different years), so copies
overlap in time like sessions on a real link.

Usage:
  make_corpus.py --out bench/work/corpus.pcap [--target-mb 300]        # the default corpus
  make_corpus.py --out big.pcap --target-mb 200 --input a.pcap b.pcap  # from your own captures
  make_corpus.py --list                                                # the default sources
  make_corpus.py --out mixed.pcap --target-mb 100 --mix bench/seeds/mixed.pcap   # mostly not FTP

The default sources are the lab captures (captures/*.pcap, as committed at HEAD) and the public
captures (../shared/captures-public/**/*.pcap) whose link type is Ethernet. Sources whose largest
TCP flow (not on a control port) holds >= 100 kB of payload count as "bulk" and are copied
--bulk-weight times per round (large data flows are most of the bytes on real links). With
--mix, captures of other traffic (HTTP and TLS bulk flows, short connections, DNS: the seed
bench/record_mixed.sh records) join every round, copied often enough to make --mix-share of the
bytes, and are rewritten the same way. A JSON
description of the corpus is written next to the output (FILE.json).
"""
import argparse
import glob
import hashlib
import heapq
import ipaddress
import json
import os
import random
import re
import struct
import subprocess
import sys

LINKTYPE_ETHERNET = 1
BULK_FLOW_BYTES = 100_000
CONTROL_PORTS = {21, 990, 2121}
MAX_GAP_US = 600 * 1_000_000

RE_SIX = re.compile(rb"(?<![0-9])(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})"
                    rb"(?![0-9])")
RE_EPSV = re.compile(rb"\|\|\|(\d{1,5})\|")
RE_EPRT = re.compile(rb"\|[12]\|[0-9A-Fa-f.:]+\|(\d{1,5})\|")


# ---------------------------------------------------------------------------------------------
# pcap I/O

GIT_BLOBS = {}  # path -> bytes of the committed version (default sources in a git checkout)


def git_snapshot(repo, pattern):
    """Reads the committed (HEAD) versions of the files matching pattern into GIT_BLOBS, so that
    captures being re-recorded in the work tree do not change the corpus. Returns the paths and
    the commit, or (None, None) outside a git checkout."""
    try:
        rev = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        names = subprocess.run(["git", "-C", repo, "ls-files", "-z", "--", pattern],
                               capture_output=True, check=True).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        return None, None
    paths = []
    for n in sorted(x.decode() for x in names if x):
        try:
            blob = subprocess.run(["git", "-C", repo, "cat-file", "blob", "%s:%s" % (rev, n)],
                                  capture_output=True, check=True).stdout
        except subprocess.CalledProcessError:
            continue
        path = os.path.join(repo, n)
        GIT_BLOBS[path] = blob
        paths.append(path)
    return paths, rev


def read_pcap(path):
    """Returns (linktype, [(ts_us, orig_len, bytes)]) or raises ValueError."""
    if path in GIT_BLOBS:
        data = GIT_BLOBS[path]
    elif path.endswith(".gz"):
        import gzip
        with gzip.open(path, "rb") as f:
            data = f.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    if len(data) < 24:
        raise ValueError("too short for a pcap header")
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        end, nano = "<", False
    elif magic == b"\xa1\xb2\xc3\xd4":
        end, nano = ">", False
    elif magic == b"\x4d\x3c\xb2\xa1":
        end, nano = "<", True
    elif magic == b"\xa1\xb2\x3c\x4d":
        end, nano = ">", True
    else:
        raise ValueError("not a pcap file (pcapng is not supported: convert with editcap -F pcap)")
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    rec = struct.Struct(end + "IIII")
    pkts = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = rec.unpack_from(data, off)
        off += 16
        if off + incl > len(data):
            break
        ts = sec * 1_000_000 + (frac // 1000 if nano else frac)
        pkts.append((ts, orig, data[off:off + incl]))
        off += incl
    return linktype, pkts


PCAP_REC = struct.Struct("<IIII")


def pcap_header(linktype):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)


# ---------------------------------------------------------------------------------------------
# Packet parsing: where the fields to rewrite are.

def l3_offset(linktype, b):
    """Returns (offset, ethertype) of the IP header, or (None, None)."""
    if linktype == LINKTYPE_ETHERNET:
        if len(b) < 14:
            return None, None
        off, et = 14, (b[12] << 8) | b[13]
        while et in (0x8100, 0x88A8, 0x9100) and len(b) >= off + 4:
            et = (b[off + 2] << 8) | b[off + 3]
            off += 4
        return off, et
    if linktype in (101, 12, 14):  # raw IP
        return (0, 0x0800 if b and b[0] >> 4 == 4 else 0x86DD) if b else (None, None)
    if linktype == 228:
        return 0, 0x0800
    if linktype == 229:
        return 0, 0x86DD
    if linktype == 113 and len(b) >= 16:  # Linux SLL
        return 16, (b[14] << 8) | b[15]
    if linktype == 276 and len(b) >= 20:  # Linux SLL2
        return 20, (b[0] << 8) | b[1]
    if linktype == 0 and len(b) >= 4:  # BSD loopback, host byte order
        fam = struct.unpack("<I", b[:4])[0]
        if fam > 0xFFFF:
            fam = struct.unpack(">I", b[:4])[0]
        return 4, 0x0800 if fam == 2 else 0x86DD
    return None, None


class Pkt:
    """One source packet and the places that a copy rewrites."""
    __slots__ = ("ts", "orig", "data", "v", "ip", "ihl", "l4", "proto", "csum", "sport", "dport",
                 "src", "dst", "texts", "first_frag", "syn")

    def __init__(self, ts, orig, data):
        self.ts, self.orig, self.data = ts, orig, data
        self.v = 0
        self.proto = None
        self.first_frag = True
        self.texts = ()
        self.csum = None
        self.l4 = None
        self.sport = self.dport = None
        self.syn = False


def parse(linktype, ts, orig, b):
    p = Pkt(ts, orig, b)
    off, et = l3_offset(linktype, b)
    if off is None:
        return p
    if et == 0x0800 and len(b) >= off + 20 and b[off] >> 4 == 4:
        ihl = (b[off] & 15) * 4
        if ihl < 20 or len(b) < off + ihl:
            return p
        p.v, p.ip, p.ihl = 4, off, ihl
        p.src, p.dst = bytes(b[off + 12:off + 16]), bytes(b[off + 16:off + 20])
        frag = ((b[off + 6] & 0x1F) << 8) | b[off + 7]
        p.first_frag = frag == 0
        p.proto = b[off + 9]
        l4 = off + ihl
    elif et == 0x86DD and len(b) >= off + 40 and b[off] >> 4 == 6:
        p.v, p.ip = 6, off
        p.src, p.dst = bytes(b[off + 8:off + 24]), bytes(b[off + 24:off + 40])
        p.proto = b[off + 6]
        p.first_frag = True
        l4 = off + 40
        # Walk the usual extension headers; a fragment header ends the walk.
        while p.proto in (0, 43, 60) and len(b) >= l4 + 8:
            p.proto, l4 = b[l4], l4 + (b[l4 + 1] + 1) * 8
        if p.proto == 44:
            return p
    else:
        return p
    if not p.first_frag:
        return p
    if p.proto == 6 and len(b) >= l4 + 20:
        p.l4 = l4
        p.sport, p.dport = (b[l4] << 8) | b[l4 + 1], (b[l4 + 2] << 8) | b[l4 + 3]
        p.syn = (b[l4 + 13] & 0x12) == 0x02
        p.csum = l4 + 16
    elif p.proto == 17 and len(b) >= l4 + 8:
        p.l4 = l4
        p.sport, p.dport = (b[l4] << 8) | b[l4 + 1], (b[l4 + 2] << 8) | b[l4 + 3]
        if (b[l4 + 6] | b[l4 + 7]) != 0:
            p.csum = l4 + 6
    return p


def tcp_payload(p):
    if p.proto != 6 or p.l4 is None:
        return None, None
    doff = (p.data[p.l4 + 12] >> 4) * 4
    start = p.l4 + doff
    if start >= len(p.data):
        return None, None
    return start, p.data[start:]


# ---------------------------------------------------------------------------------------------
# A source capture, prepared once: packets, addresses, announced ports, text occurrences.

class Source:
    def __init__(self, path, linktype, raw):
        self.path = path
        self.linktype = linktype
        self.pkts = [parse(linktype, ts, orig, b) for ts, orig, b in raw]
        # A few public files are samples of packets taken years apart: close gaps over
        # MAX_GAP_US to 1 s (in place of the packet times), so that copies stay near each other.
        shift, prev = 0, None
        for p in self.pkts:
            if prev is not None and p.ts - prev > MAX_GAP_US:
                shift += p.ts - prev - 1_000_000
            prev = p.ts
            p.ts -= shift
        self.gaps_closed_s = shift / 1e6
        self.bytes = sum(16 + len(p.data) for p in self.pkts)
        self.t0 = min((p.ts for p in self.pkts), default=0)
        self.duration = max((p.ts for p in self.pkts), default=0) - self.t0
        self.addrs4 = set()
        self.addrs6 = set()
        self.server_ports = set()
        self.announced = set()
        flow_bytes = {}
        control_bytes = 0
        for p in self.pkts:
            if p.v == 4:
                self.addrs4.update((p.src, p.dst))
            elif p.v == 6:
                self.addrs6.update((p.src, p.dst))
            if p.syn:
                self.server_ports.add(p.dport)
            start, pay = tcp_payload(p)
            if pay:
                a, b = (p.src, p.sport), (p.dst, p.dport)
                key = (min(a, b), max(a, b))
                flow_bytes[key] = flow_bytes.get(key, 0) + len(pay)
                if p.sport in CONTROL_PORTS or p.dport in CONTROL_PORTS:
                    control_bytes += len(pay)
                    flow_bytes[key] = 0  # bulk means a data (or other) flow, not control
                for m in RE_SIX.finditer(pay):
                    hi, lo = int(m.group(5)), int(m.group(6))
                    if hi < 256 and lo < 256:
                        self.announced.add(hi * 256 + lo)
                for m in RE_EPSV.finditer(pay):
                    self.announced.add(int(m.group(1)))
                for m in RE_EPRT.finditer(pay):
                    self.announced.add(int(m.group(1)))
        self.largest_flow = max(flow_bytes.values(), default=0)
        self.payload_bytes = sum(flow_bytes.values()) + control_bytes
        self.control_bytes = control_bytes
        self.bulk = self.largest_flow >= BULK_FLOW_BYTES
        self._find_texts()

    def _find_texts(self):
        """Records, per packet, the payload offsets of text forms of this source's addresses."""
        forms = {}
        for a in self.addrs4:
            o = list(a)
            forms[".".join(map(str, o)).encode()] = (4, a, ".")
            forms[",".join(map(str, o)).encode()] = (4, a, ",")
        for a in self.addrs6:
            forms[ipaddress.IPv6Address(a).compressed.encode()] = (6, a, None)
        if not forms:
            return
        alts = b"|".join(re.escape(k) for k in sorted(forms, key=len, reverse=True))
        rx = re.compile(rb"(?<![0-9A-Za-z:.,])(?:" + alts + rb")(?![0-9A-Za-z:])", re.I)
        for p in self.pkts:
            start, pay = tcp_payload(p)
            if not pay:
                continue
            found = []
            for m in rx.finditer(pay):
                key = m.group(0).lower()
                if key in forms:
                    found.append((start + m.start(), forms[key]))
            if found:
                p.texts = tuple(found)


# ---------------------------------------------------------------------------------------------
# Per-copy mappings.

def _digits_like(rng, old, last):
    if old == 0:
        return 0
    if old < 10:
        return rng.randint(1, 9)
    if old < 100:
        return rng.randint(10, 99)
    return rng.randint(100, 254 if last else 255)


def _kept_octets(a):
    if a[0] >= 224 or a == b"\0\0\0\0" or a[0] == 0:
        return 4
    if a[0] in (10, 127):
        return 1
    return 2


class CopyMap:
    def __init__(self, src, k, seed):
        self.k = k
        self.m4 = {}
        used = set()
        for a in sorted(src.addrs4):
            kept = _kept_octets(a)
            new = a
            if kept < 4:
                for attempt in range(64):
                    rng = random.Random("%s:%d:%s:%d" % (seed, k, a.hex(), attempt))
                    new = a[:kept] + bytes(_digits_like(rng, a[i], i == 3) for i in range(kept, 4))
                    if new not in used:
                        break
                else:
                    new = a
            used.add(new)
            self.m4[a] = new
        self.m6 = {}
        used6 = set()
        for a in sorted(src.addrs6):
            last = (a[14] << 8) | a[15]
            new = a
            if last != 0 and a[0] != 0xFF:
                width = len("%x" % last)
                lo, hi = 16 ** (width - 1), 16 ** width - 1
                for attempt in range(64):
                    rng = random.Random("%s:%d:%s:%d" % (seed, k, a.hex(), attempt))
                    v = rng.randint(max(lo, 1), hi)
                    new = a[:14] + bytes((v >> 8, v & 255))
                    if new not in used6:
                        break
            used6.add(new)
            self.m6[a] = new
        fixed = src.announced | src.server_ports
        salt = int(hashlib.sha256(("%s:%d" % (seed, k)).encode()).hexdigest()[:4], 16)
        shift = (k * 7919 + salt) % 64512
        self.ports = {}
        self.fixed = fixed
        self.shift = shift
        self.text = {}
        for a, n in self.m4.items():
            self.text[(4, a, ".")] = ".".join(map(str, n)).encode()
            self.text[(4, a, ",")] = ",".join(map(str, n)).encode()
        for a, n in self.m6.items():
            t_old = ipaddress.IPv6Address(a).compressed.encode()
            t_new = ipaddress.IPv6Address(n).compressed.encode()
            self.text[(6, a, None)] = t_new if len(t_new) == len(t_old) else t_old

    def port(self, p):
        if p < 1024 or p in self.fixed:
            return p
        return 1024 + (p - 1024 + self.shift) % 64512


def csum_adjust(csum, old, new, odd):
    """RFC 1624 incremental update of a one's-complement checksum for old -> new bytes."""
    if odd:
        old, new = b"\0" + old, b"\0" + new
    if len(old) & 1:
        old, new = old + b"\0", new + b"\0"
    s = (~csum) & 0xFFFF
    for i in range(0, len(old), 2):
        s += ((~((old[i] << 8) | old[i + 1])) & 0xFFFF) + ((new[i] << 8) | new[i + 1])
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def rewrite(p, cm):
    """Returns the bytes of packet p in copy cm."""
    if p.v == 0:
        return p.data
    b = bytearray(p.data)
    l4_changes = []  # (old, new, odd)
    if p.v == 4:
        ns, nd = cm.m4.get(p.src, p.src), cm.m4.get(p.dst, p.dst)
        o = p.ip
        if ns != p.src or nd != p.dst:
            old = bytes(b[o + 12:o + 20])
            b[o + 12:o + 16], b[o + 16:o + 20] = ns, nd
            c = (b[o + 10] << 8) | b[o + 11]
            c = csum_adjust(c, old, bytes(b[o + 12:o + 20]), False)
            b[o + 10], b[o + 11] = c >> 8, c & 255
            l4_changes.append((old, bytes(b[o + 12:o + 20]), False))
    else:
        ns, nd = cm.m6.get(p.src, p.src), cm.m6.get(p.dst, p.dst)
        o = p.ip
        if ns != p.src or nd != p.dst:
            old = bytes(b[o + 8:o + 40])
            b[o + 8:o + 24], b[o + 24:o + 40] = ns, nd
            l4_changes.append((old, bytes(b[o + 8:o + 40]), False))
    if p.l4 is not None:
        nsp, ndp = cm.port(p.sport), cm.port(p.dport)
        if nsp != p.sport or ndp != p.dport:
            o = p.l4
            old = bytes(b[o:o + 4])
            b[o:o + 4] = struct.pack(">HH", nsp, ndp)
            l4_changes.append((old, bytes(b[o:o + 4]), False))
        for off, key in p.texts:
            new = cm.text.get(key)
            if new is None:
                continue
            old = bytes(b[off:off + len(new)])
            if old.lower() == new:
                continue
            b[off:off + len(new)] = new
            l4_changes.append((old, new, (off - p.l4) & 1 == 1))
    if p.csum is not None and l4_changes and p.csum + 2 <= len(b):
        c = (b[p.csum] << 8) | b[p.csum + 1]
        for old, new, odd in l4_changes:
            c = csum_adjust(c, old, new, odd)
        if p.proto == 17 and c == 0:
            c = 0xFFFF
        b[p.csum], b[p.csum + 1] = c >> 8, c & 255
    return bytes(b)


# ---------------------------------------------------------------------------------------------

def default_sources(repo):
    """Lab captures as committed (HEAD), or the work tree outside git; then the public ones."""
    paths, rev = git_snapshot(repo, "captures/*.pcap")
    if paths is None:
        paths = sorted(glob.glob(os.path.join(repo, "captures", "*.pcap")))
    default_sources.rev = rev
    pub = os.path.normpath(os.path.join(repo, "..", "shared", "captures-public"))
    paths += sorted(glob.glob(os.path.join(pub, "**", "*.pcap"), recursive=True))
    return paths


def load_sources(paths, want_linktype, log):
    sources, skipped = [], []
    for path in paths:
        try:
            lt, raw = read_pcap(path)
        except (OSError, ValueError) as e:
            skipped.append((path, str(e)))
            continue
        if want_linktype is not None and lt != want_linktype:
            skipped.append((path, "link type %d, not %d" % (lt, want_linktype)))
            continue
        if not raw:
            skipped.append((path, "no packets"))
            continue
        src = Source(path, lt, raw)
        if path in GIT_BLOBS:
            src.sha256 = hashlib.sha256(GIT_BLOBS[path]).hexdigest()
        else:
            with open(path, "rb") as f:
                src.sha256 = hashlib.sha256(f.read()).hexdigest()
        sources.append(src)
    for path, why in skipped:
        log("make_corpus: skipped %s: %s" % (path, why))
    return sources, skipped


def plan(sources, target_bytes, bulk_weight, seed, mix=(), mix_share=0.0):
    """Returns the list of (copy index, source) in start order, up to target_bytes. Copies of
    the mix sources (traffic that is not FTP) are added to every round so that they make
    mix_share of its bytes."""
    rng = random.Random("plan:%s" % seed)
    out, total, k = [], 0, 0
    round_list = []
    for s in sources:
        round_list += [s] * (bulk_weight if s.bulk else 1)
    if mix and round_list:
        ftp_bytes = sum(s.bytes for s in round_list)
        want = ftp_bytes * mix_share / (1.0 - mix_share)
        each = want / len(mix)
        for s in mix:
            round_list += [s] * max(1, int(round(each / s.bytes)))
    if not round_list:
        return out
    while total < target_bytes:
        r = list(round_list)
        rng.shuffle(r)
        for s in r:
            out.append((k, s))
            total += s.bytes
            k += 1
            if total >= target_bytes:
                break
    return out


def in_flight(copies, stride):
    """Copies in flight (time span covering the instant): the mean over the window in which
    copies start, and the peak."""
    marks = sorted([(k * stride, 1) for k, s in copies] +
                   [(k * stride + s.duration + 1, -1) for k, s in copies])
    window = max(1, (len(copies) - 1) * stride)
    cur = peak = area = 0
    last = 0
    for t, d in marks:
        if last < window:
            area += cur * (min(t, window) - last)
        last = t
        cur += d
        peak = max(peak, cur)
    return area / window, peak


def main(argv):
    repo = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output pcap")
    ap.add_argument("--input", nargs="+", help="your own pcap files (one link type) instead of "
                    "the default sources")
    ap.add_argument("--target-mb", type=float, default=300.0, help="size to reach (MB, 1e6)")
    ap.add_argument("--bulk-weight", type=int, default=3,
                    help="copies per round of sources with a >= 100 kB data flow (default 3)")
    ap.add_argument("--stride-ms", type=float, default=20.0,
                    help="start-time step between copies (default 20 ms)")
    ap.add_argument("--in-flight", type=int, default=0,
                    help="copies in flight at once on average (sets the stride from the mean "
                    "copy duration; needs at least that many copies)")
    ap.add_argument("--max-source-kb", type=float, default=0,
                    help="only sources of at most this size (many small copies: high "
                    "concurrency in a file of moderate size)")
    ap.add_argument("--mix", nargs="+", metavar="PCAP",
                    help="captures of traffic that is not FTP (bench/seeds/mixed.pcap, recorded "
                    "by bench/record_mixed.sh) copied among the FTP sources")
    ap.add_argument("--mix-share", type=float, default=0.85,
                    help="share of the corpus bytes that come from the --mix captures (0.85)")
    ap.add_argument("--seed", default="ftpinspect-bench-1")
    ap.add_argument("--t0", type=int, default=1_767_225_600, help="start, epoch seconds")
    ap.add_argument("--list", action="store_true", help="list the sources and exit")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)

    def log(msg):
        if not a.quiet:
            print(msg, file=sys.stderr)

    if a.input:
        paths, want = a.input, None
    else:
        paths, want = default_sources(repo), LINKTYPE_ETHERNET
    sources, skipped = load_sources(paths, want, log)
    if not sources:
        print("make_corpus: no usable source", file=sys.stderr)
        return 1
    mix = []
    if a.mix:
        if not 0.0 < a.mix_share < 1.0:
            ap.error("--mix-share must be between 0 and 1")
        mix, mskipped = load_sources(a.mix, None, log)
        if mskipped or not mix:
            print("make_corpus: a --mix capture cannot be used", file=sys.stderr)
            return 1
    lts = {s.linktype for s in sources + mix}
    if len(lts) != 1:
        print("make_corpus: the inputs mix link types %s; one file has one" % sorted(lts),
              file=sys.stderr)
        return 1
    linktype = lts.pop()
    if a.list:
        for s in sources:
            print("%-80s %9d B %6d pkts largest_flow=%d %s" % (
                os.path.relpath(s.path, repo), s.bytes, len(s.pkts), s.largest_flow,
                "bulk" if s.bulk else ""))
        return 0
    if not a.out:
        ap.error("--out is required")

    if a.max_source_kb:
        sources = [s for s in sources if s.bytes <= a.max_source_kb * 1000]
        if not sources:
            print("make_corpus: no source of at most %g kB" % a.max_source_kb, file=sys.stderr)
            return 1
    copies = plan(sources, int(a.target_mb * 1e6), a.bulk_weight, a.seed, mix, a.mix_share)
    stride = int(a.stride_ms * 1000)
    if a.in_flight:
        if len(copies) < a.in_flight:
            log("make_corpus: %d copies cannot keep %d in flight; raise --target-mb or lower "
                "--max-source-kb" % (len(copies), a.in_flight))
        lo, hi = 1, 60_000_000  # the stride (us) that gives a.in_flight, by bisection
        while lo < hi:
            mid = (lo + hi) // 2
            if in_flight(copies, mid)[0] > a.in_flight:
                lo = mid + 1
            else:
                hi = mid
        stride = lo
    in_flight_mean, peak = in_flight(copies, stride)
    t0 = a.t0 * 1_000_000

    def stream(k, s):
        cm = CopyMap(s, k, a.seed)
        base = t0 + k * stride - s.t0
        for i, p in enumerate(s.pkts):
            yield (base + p.ts, k, i, p, cm)

    os.makedirs(os.path.dirname(os.path.abspath(a.out)) or ".", exist_ok=True)
    tmp = a.out + ".tmp"
    n = total = 0
    mix_ids = {id(s) for s in mix}
    mix_k = {k for k, s in copies if id(s) in mix_ids}
    mix_n = mix_total = 0
    with open(tmp, "wb", buffering=1 << 22) as f:
        f.write(pcap_header(linktype))
        for ts, k, _i, p, cm in heapq.merge(*(stream(k, s) for k, s in copies)):
            data = rewrite(p, cm)
            f.write(PCAP_REC.pack(ts // 1_000_000, ts % 1_000_000, len(data), p.orig))
            f.write(data)
            n += 1
            total += 16 + len(data)
            if k in mix_k:
                mix_n += 1
                mix_total += 16 + len(data)
    os.replace(tmp, a.out)

    per = {}
    for _k, s in copies:
        per[s.path] = per.get(s.path, 0) + 1
    desc = {
        "file": os.path.abspath(a.out),
        "bytes": total + 24,
        "packets": n,
        "linktype": linktype,
        "copies": len(copies),
        "seed": a.seed,
        "captures_commit": None if a.input else getattr(default_sources, "rev", None),
        "stride_ms": stride / 1000.0,
        "in_flight_peak": peak,
        "in_flight_mean": round(in_flight_mean, 1),
        "max_source_kb": a.max_source_kb or None,
        "bulk_weight": a.bulk_weight,
        "mix_share_bytes": round(mix_total / max(1, total), 3) if mix else None,
        "mix_share_packets": round(mix_n / max(1, n), 3) if mix else None,
        "timeline_s": (len(copies) * stride + max(s.duration for s in sources + mix)) / 1e6,
        "sources": [{
            "path": os.path.relpath(s.path, repo),
            "copies": per.get(s.path, 0),
            "bytes_each": s.bytes,
            "packets_each": len(s.pkts),
            "largest_flow": s.largest_flow,
            "payload_bytes": s.payload_bytes,
            "control_bytes": s.control_bytes,
            "bulk": s.bulk,
            "gaps_closed_s": s.gaps_closed_s,
            "sha256": s.sha256,
            "mix": id(s) in mix_ids,
        } for s in sources + mix],
        "skipped": [{"path": os.path.relpath(p, repo), "why": w} for p, w in skipped],
    }
    with open(a.out + ".json", "w") as f:
        json.dump(desc, f, indent=1)
    log("make_corpus: %s: %d packets, %.1f MB, %d copies of %d sources, stride %.3f ms, "
        "copies in flight: mean %.0f, peak %d" % (
            a.out, n, (total + 24) / 1e6, len(copies), len(sources) + len(mix),
            stride / 1000.0, in_flight_mean, peak))
    if mix:
        log("make_corpus: not FTP (--mix): %.1f%% of the bytes, %.1f%% of the packets" % (
            100.0 * mix_total / max(1, total), 100.0 * mix_n / max(1, n)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
