#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""resegment.py - rewrites a pcap so that the same TCP conversations reach the analyser in another
shape. The sessions, data connections and findings ftpinspect reports must not change (see
invariance.py). Modes:

  seg1     every payload byte of a control connection (port 21, 990, 2121) in its own segment,
           and the first 512 bytes of every other connection direction; the rest of those in
           random-size segments (1-byte segments of a 2 MB transfer would take minutes)
  segrand  every payload in random-size segments (1 .. half the payload)
  reorder  segrand, then each run of consecutive payload segments of one connection direction
           (no other packet in between, no SYN/FIN/RST) shuffled, in windows of up to 8
           segments; timestamps keep their order. Packets of other connections are not moved
           across, so what each connection has delivered when another one's packet arrives is
           unchanged (the order between connections is part of what FTP means)
  dup      every payload segment twice
  vlan     re-encapsulated in Ethernet + 802.1Q          qinq    Ethernet + 802.1ad + 802.1Q
  sll2     Linux cooked v2 (LINKTYPE 276)                gre     Ethernet + IPv4 + GRE
  erspan2  Ethernet + IPv4 + GRE + ERSPAN type II + Ethernet
  tshift   every timestamp 3600.123457 s later (not more: certificate dates are judged at
           capture time)
  frag     IPv4 packets with TCP payload sent as IPv4 fragments of 24 payload bytes (the decoder
           counts fragments and does not reassemble them until the defragmenter lands)

Packets cut by the snap length, IPv4 fragments and non-TCP packets are left as they are. The
link layer is parsed here (Ethernet with 802.1Q/802.1ad tags, GRE and ERSPAN II/III tunnels,
SLL, SLL2, NULL, LOOP, RAW) to find the innermost IP header of the TCP segment. Deterministic
for a given --seed. Exit status 3 when the mode changed no packet (e.g. frag on IPv6 only), 4
when the input is not a pcap file (pcapng is not read).
Needs scapy (Debian python3-scapy) for the fragments (imported only for frag).

  resegment.py MODE IN.pcap OUT.pcap [--seed N]
"""
import argparse
import random
import struct
import sys

CONTROL_PORTS = (21, 990, 2121)
MAC_SRC, MAC_DST = b"\x02\0\0\0\0\x01", b"\x02\0\0\0\0\x02"
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD


# ---- pcap files ------------------------------------------------------------------------------
def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        print("resegment: %s: not a pcap file (pcapng is not supported)" % path)
        sys.exit(4)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    _, _, _, _, snap, lt = struct.unpack(e + "HHiIII", data[4:24])
    pkts, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        ts = sec * 1_000_000 + (frac // 1000 if nano else frac)
        # libpcap cuts a record longer than the file's snap length; so does this reader, and
        # the writer's snap length covers every packet it writes.
        pkts.append([ts, data[off:off + min(caplen, snap or caplen)], wirelen])
        off += caplen
    return lt & 0xFFFF, snap, pkts


def write_pcap(path, lt, snap, pkts):
    with open(path, "wb") as f:
        snap = max([snap] + [len(p[1]) for p in pkts])
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, lt))
        for ts, raw, wirelen in pkts:
            f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(raw),
                                max(wirelen, len(raw))))
            f.write(raw)


# ---- link layers and tunnels -----------------------------------------------------------------
def ipv4_cksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def after_ether(raw, o, outers):
    if len(raw) < o + 14:
        return None
    et = struct.unpack("!H", raw[o + 12:o + 14])[0]
    o += 14
    while et in (0x8100, 0x88A8, 0x9100) and len(raw) >= o + 4:
        et = struct.unpack("!H", raw[o + 2:o + 4])[0]
        o += 4
    return after_ethertype(raw, o, et, outers)


def after_ethertype(raw, o, et, outers):
    if et not in (ETH_IPV4, ETH_IPV6) or len(raw) <= o:
        return None
    if et == ETH_IPV4 and raw[o] >> 4 == 4 and raw[o + 9] == 47:  # GRE inside IPv4
        ihl = (raw[o] & 15) * 4
        g = o + ihl
        flags, proto = struct.unpack("!HH", raw[g:g + 4])
        glen = 4 + 4 * bool(flags & 0x8000) + 4 * bool(flags & 0x2000) + 4 * bool(flags & 0x1000)
        inner = g + glen
        outers = outers + [o]
        if proto == 0x88BE:  # ERSPAN type II: 8-byte header, then Ethernet
            return after_ether(raw, inner + 8, outers)
        if proto == 0x22EB:  # ERSPAN type III: 12 bytes (+8 with the O flag)
            extra = 8 if raw[inner + 11] & 1 else 0
            return after_ether(raw, inner + 12 + extra, outers)
        return after_ethertype(raw, inner, proto, outers)
    return o, outers


def locate_ip(raw, lt):
    """(offset of the innermost IP header, offsets of outer IPv4 headers) or None."""
    if lt == 1:
        return after_ether(raw, 0, [])
    if lt in (0, 108):
        return (4, []) if len(raw) > 4 else None
    if lt in (12, 101, 228, 229):
        return (0, []) if raw else None
    if lt == 113:
        return after_ethertype(raw, 16, struct.unpack("!H", raw[14:16])[0], []) \
            if len(raw) > 16 else None
    if lt == 276:
        return after_ethertype(raw, 20, struct.unpack("!H", raw[0:2])[0], []) \
            if len(raw) > 20 else None
    return None


# ---- IP and TCP ------------------------------------------------------------------------------
class Seg:
    """A TCP segment inside a captured frame: prefix (link + tunnels), IP header(s), TCP header,
    payload."""

    def __init__(self, raw, ip_off, outers):
        self.prefix, self.outers = raw[:ip_off], outers
        ip = raw[ip_off:]
        self.v6 = ip[0] >> 4 == 6
        if self.v6:
            end = 40 + struct.unpack("!H", ip[4:6])[0]
            nh, o = ip[6], 40
            while nh in (0, 43, 60, 51):  # hop-by-hop, routing, destination options, AH
                nh, hl = ip[o], (ip[o + 1] + 2) * 4 if nh == 51 else (ip[o + 1] + 1) * 8
                o += hl
            if nh != 6:
                raise ValueError("not TCP")
        else:
            end = struct.unpack("!H", ip[2:4])[0]
            o = (ip[0] & 15) * 4
            if ip[9] != 6 or struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
                raise ValueError("not TCP or a fragment")
        if end > len(ip) or end < o + 20:
            raise ValueError("cut by the snap length")
        thl = (ip[o + 12] >> 4) * 4
        self.iph, self.tcph, self.payload = ip[:o], ip[o:o + thl], ip[o + thl:end]
        self.sport, self.dport, self.seq = struct.unpack("!HHI", self.tcph[:8])
        self.flags = self.tcph[13]
        self.src, self.dst = (ip[8:24], ip[24:40]) if self.v6 else (ip[12:16], ip[16:20])

    def key(self):
        return (self.src, self.sport, self.dst, self.dport)

    def conn(self):
        return frozenset([(self.src, self.sport), (self.dst, self.dport)])

    def ip_bytes(self, payload, seq_off=0, flags=None):
        """The IP packet with this payload at sequence offset seq_off (checksums recomputed)."""
        tcp = bytearray(self.tcph)
        struct.pack_into("!I", tcp, 4, (self.seq + seq_off) & 0xFFFFFFFF)
        tcp[13] = self.flags if flags is None else flags
        tcp[16:18] = b"\0\0"
        ip = bytearray(self.iph)
        if self.v6:
            struct.pack_into("!H", ip, 4, len(ip) - 40 + len(tcp) + len(payload))
            pseudo = self.src + self.dst + struct.pack("!IxxxB", len(tcp) + len(payload), 6)
        else:
            struct.pack_into("!H", ip, 2, len(ip) + len(tcp) + len(payload))
            ip[10:12] = b"\0\0"
            struct.pack_into("!H", ip, 10, ipv4_cksum(bytes(ip)))
            pseudo = self.src + self.dst + struct.pack("!xBH", 6, len(tcp) + len(payload))
        body = bytes(tcp) + payload
        struct.pack_into("!H", tcp, 16, ipv4_cksum(pseudo + body + b"\0" * (len(body) & 1)))
        return bytes(ip) + bytes(tcp) + payload

    def frame(self, ip):
        """prefix + ip, with the outer IPv4 headers' lengths and checksums fixed."""
        out = bytearray(self.prefix + ip)
        for o in self.outers:
            ihl = (out[o] & 15) * 4
            struct.pack_into("!H", out, o + 2, len(out) - o)
            out[o + 10:o + 12] = b"\0\0"
            struct.pack_into("!H", out, o + 10, ipv4_cksum(bytes(out[o:o + ihl])))
        return bytes(out)


def parse(lt, raw, wirelen):
    if wirelen > len(raw):
        return None
    loc = locate_ip(raw, lt)
    if loc is None:
        return None
    try:
        return Seg(raw, loc[0], loc[1])
    except (ValueError, IndexError, struct.error):
        return None


# ---- transformations -------------------------------------------------------------------------
def split(pkts, lt, rng, one_byte):
    out, changed, done = [], 0, {}
    for ts, raw, wl in pkts:
        s = parse(lt, raw, wl)
        if s is None or len(s.payload) < 2:
            out.append([ts, raw, wl, s])
            continue
        control = s.sport in CONTROL_PORTS or s.dport in CONTROL_PORTS
        off, n = 0, len(s.payload)
        while off < n:
            seen = done.get(s.key(), 0)
            if one_byte and (control or seen < 512):
                k = 1
            else:
                k = rng.randint(1, max(1, n // 2))
            k = min(k, n - off)
            last = off + k == n
            flags = s.flags if last else s.flags & ~0x09  # FIN and PSH on the last piece only
            ip = s.ip_bytes(s.payload[off:off + k], off, flags)
            out.append([ts, s.frame(ip), 0, parse(lt, s.frame(ip), 0)])
            done[s.key()] = seen + k
            off += k
        changed += 1
    return out, changed


def reorder(pkts, lt, rng):
    recs, _ = split(pkts, lt, rng, False)
    changed, i = 0, 0
    while i < len(recs):
        s = recs[i][3]
        if s is None or not s.payload or s.flags & 0x07:
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < len(recs) and len(run) < 8:
            t = recs[j][3]
            if t is None or t.key() != s.key() or not t.payload or t.flags & 0x07:
                break
            run.append(j)
            j += 1
        if len(run) > 1:
            shuffled = [recs[k] for k in run]
            rng.shuffle(shuffled)
            stamps = [recs[k][0] for k in run]
            for k, r, ts in zip(run, shuffled, stamps):
                recs[k] = [ts, r[1], r[2], r[3]]
            changed += 1
        i = run[-1] + 1
    return recs, changed


def duplicate(pkts, lt):
    out, changed = [], 0
    for ts, raw, wl in pkts:
        out.append([ts, raw, wl])
        s = parse(lt, raw, wl)
        if s is not None and s.payload:
            out.append([ts, raw, wl])
            changed += 1
    return out, changed


def ether(et):
    return MAC_DST + MAC_SRC + struct.pack("!H", et)


def outer_gre(gre):
    """Ethernet + IPv4 (192.0.2.1 -> 192.0.2.2, protocol 47) around a GRE header and payload."""
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(gre), 0, 0, 64, 47, 0,
                                bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])))
    struct.pack_into("!H", hdr, 10, ipv4_cksum(bytes(hdr)))
    return ether(ETH_IPV4) + bytes(hdr) + gre


def encapsulate(pkts, lt, mode):
    out, changed = [], 0
    for ts, raw, wl in pkts:
        loc = locate_ip(raw, lt)
        if loc is None or loc[0] >= len(raw) or raw[loc[0]] >> 4 not in (4, 6):
            continue  # only IP is re-encapsulated
        s = parse(lt, raw, wl)
        # A packet cut by the snap length keeps its bytes and its wire length.
        ip = s.ip_bytes(s.payload) if s is not None else raw[loc[0]:]
        missing = wl - len(raw) if s is None and wl > len(raw) else 0
        et = ETH_IPV6 if ip[0] >> 4 == 6 else ETH_IPV4
        if mode == "vlan":
            frame = ether(0x8100) + struct.pack("!HH", 100, et) + ip
        elif mode == "qinq":
            frame = ether(0x88A8) + struct.pack("!HHHH", 10, 0x8100, 20, et) + ip
        elif mode == "sll2":
            frame = struct.pack("!HHIHBB8s", et, 0, 3, 1, 0, 6, MAC_SRC + b"\0\0") + ip
        elif mode == "gre":
            frame = outer_gre(struct.pack("!HH", 0, et) + ip)
        else:  # erspan2: GRE with a sequence number, ERSPAN II header, inner Ethernet
            erspan = bytes([0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0])
            frame = outer_gre(struct.pack("!HHI", 0x1000, 0x88BE, changed) + erspan +
                              ether(et) + ip)
        out.append([ts, frame, len(frame) + missing])
        changed += 1
    return out, (276 if mode == "sll2" else 1), changed


def fragments(pkts, lt):
    from scapy.all import IP, fragment  # slow to import: only when used
    out, changed = [], 0
    for ts, raw, wl in pkts:
        s = parse(lt, raw, wl)
        if s is None or s.v6 or not s.payload:
            out.append([ts, raw, wl])
            continue
        for frag in fragment(IP(s.ip_bytes(s.payload)), fragsize=24):
            out.append([ts, s.frame(bytes(frag)), 0])
        changed += 1
    return out, changed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["seg1", "segrand", "reorder", "dup", "vlan", "qinq", "sll2",
                                     "gre", "erspan2", "tshift", "frag"])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    lt, snap, pkts = read_pcap(a.input)
    rng = random.Random(a.seed)
    if a.mode in ("seg1", "segrand"):
        recs, changed = split(pkts, lt, rng, a.mode == "seg1")
        pkts = [r[:3] for r in recs]
    elif a.mode == "reorder":
        recs, changed = reorder(pkts, lt, rng)
        pkts = [r[:3] for r in recs]
    elif a.mode == "dup":
        pkts, changed = duplicate(pkts, lt)
    elif a.mode == "tshift":
        pkts = [[ts + 3_600_123_457, raw, wl] for ts, raw, wl in pkts]
        changed = len(pkts)
    elif a.mode == "frag":
        pkts, changed = fragments(pkts, lt)
    else:
        pkts, lt, changed = encapsulate(pkts, lt, a.mode)
    write_pcap(a.output, lt, snap, pkts)
    print("resegment: %s: %d packets changed, %d written" % (a.mode, changed, len(pkts)))
    return 0 if changed else 3


if __name__ == "__main__":
    sys.exit(main())
