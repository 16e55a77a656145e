#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes seed inputs for the fuzz targets from the project's captures (captures/*.pcap,
tests/crafted/*.pcap), certificates (the lab's, and the chains in the fuzz_tls corpus's
handshakes) and sample options, in each target's input format, into
OUT/<target>/. tests/fuzz/campaign.sh merges them into corpus/<target>/ (libFuzzer -merge=1 keeps
only the seeds that add coverage). Needs scapy (Debian python3-scapy).
Run: python3 tests/fuzz/make_seeds.py OUT"""
import glob
import hashlib
import os
import struct
import sys

from scapy.all import IP, TCP, IPv6, PcapReader

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LINKTYPES = [1, 0, 12, 101, 108, 113, 228, 229, 276]  # fuzz_packet.c / fuzz_decode.c order
CTRL_PORTS = (21, 990, 2121)


def write(out, target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def read(path):
    """(linktype, [(raw bytes, scapy packet)]) of a capture."""
    with PcapReader(path) as r:
        lt = r.linktype
        return lt, [(bytes(p), p) for p in r]


def tcp_of(p):
    ip = p.getlayer(IP) or p.getlayer(IPv6)
    t = p.getlayer(TCP)
    return (ip, t) if ip is not None and t is not None else (None, None)


def control_chunks(pkts):
    """The first control connection's payload as [(dir, bytes)], dir 1 = to the client,
    consecutive payloads of one direction merged, retransmissions dropped."""
    seen, chunks, key = set(), [], None
    for _, p in pkts:
        ip, t = tcp_of(p)
        if t is None or not bytes(t.payload):
            continue
        if t.dport in CTRL_PORTS or t.sport in CTRL_PORTS:
            k = frozenset([(ip.src, t.sport), (ip.dst, t.dport)])
            key = key or k
            if k != key or (t.sport, t.seq) in seen:
                continue
            seen.add((t.sport, t.seq))
            d = 1 if t.sport in CTRL_PORTS else 0
            if chunks and chunks[-1][0] == d:
                chunks[-1] = (d, chunks[-1][1] + bytes(t.payload))
            else:
                chunks.append((d, bytes(t.payload)))
    return chunks


def seeds_from_capture(out, path):
    lt, pkts = read(path)
    if lt not in LINKTYPES or not pkts:
        return
    ltb = bytes([LINKTYPES.index(lt)])
    # fuzz_packet: the first 48 packets joined by the separator.
    write(out, "fuzz_packet", ltb + b"FTPI".join(raw for raw, _ in pkts[:48]))
    # fuzz_decode: the first packet and the first with payload, as captured and snap-cut.
    firsts = [pkts[0][0]] + [raw for raw, p in pkts if tcp_of(p)[1] is not None
                             and bytes(tcp_of(p)[1].payload)][:1]
    for raw in firsts:
        write(out, "fuzz_decode", ltb + b"\x00" + raw)
        write(out, "fuzz_decode", ltb + b"\x10" + raw[:54])
    chunks = control_chunks(pkts)
    if not chunks:
        return
    if chunks[0][0] != 1:
        chunks.insert(0, (1, b""))
    # fuzz_ftp_stream: chunks alternate direction, server first.
    write(out, "fuzz_ftp_stream", b"\n--\n".join(c for _, c in chunks))
    # fuzz_stream: open slot 0 on port 21, data records of at most 255 bytes, close.
    prog = bytearray(b"\x00\x00")
    for d, c in chunks:
        for i in range(0, len(c), 255):
            part = c[i:i + 255]
            prog += bytes([1, d << 3, len(part)]) + part
    prog += b"\x03\x00"
    write(out, "fuzz_stream", bytes(prog))
    # fuzz_line: the client's bytes, fed in 3-byte chunks; fuzz_ftp_parse: single lines.
    client = b"".join(c for d, c in chunks if d == 0)
    server = b"".join(c for d, c in chunks if d == 1)
    write(out, "fuzz_line", b"\x02" + client)
    write(out, "fuzz_line", b"\x80" + server)
    for line in (client + server).split(b"\r\n"):
        if line[:4] in (b"227 ", b"229 ", b"228 ", b"PORT", b"EPRT", b"LPRT", b"USER",
                        b"RETR", b"220-", b"230 "):
            write(out, "fuzz_ftp_parse", line)


def seeds_x509(out):
    ders = []
    for p in sorted(glob.glob(os.path.join(ROOT, "tests/data/tls/*.der"))):
        with open(p, "rb") as f:
            ders.append(f.read())
    for p in sorted(glob.glob(os.path.join(ROOT, "captures/certs/*/*.pem"))):
        import base64
        with open(p) as f:
            text = f.read()
        body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END")[0]
        ders.append(base64.b64decode(body))
    for i, der in enumerate(ders):
        for opt, name in ((0, b"ftp.example.test"), (1, b""), (2, b"10.0.0.2")):
            chain = struct.pack(">H", len(der)) + der
            if i + 1 < len(ders):  # a second certificate as the issuer
                chain += struct.pack(">H", len(ders[-1])) + ders[-1]
            write(out, "fuzz_x509", bytes([opt, len(name)]) + name + chain)


def tls_chains(server_bytes):
    """DER chains of the Certificate messages (TLS 1.0-1.2, in clear) in server-to-client bytes."""
    hs, off = b"", 0
    while off + 5 <= len(server_bytes):
        rtype, rlen = server_bytes[off], struct.unpack(">H", server_bytes[off + 3:off + 5])[0]
        if rtype == 22:
            hs += server_bytes[off + 5:off + 5 + rlen]
        off += 5 + rlen
    chains, off = [], 0
    while off + 4 <= len(hs):
        mtype, mlen = hs[off], int.from_bytes(hs[off + 1:off + 4], "big")
        body = hs[off + 4:off + 4 + mlen]
        if mtype == 11 and len(body) >= 3:
            certs, o = [], 3
            while o + 3 <= len(body):
                n = int.from_bytes(body[o:o + 3], "big")
                certs.append(body[o + 3:o + 3 + n])
                o += 3 + n
            chains.append(certs)
        off += 4 + mlen
    return chains


def seeds_x509_from_tls(out):
    """fuzz_x509 seeds from the chains the fuzz_tls corpus's handshakes carry."""
    for p in sorted(glob.glob(os.path.join(ROOT, "tests/fuzz/corpus/fuzz_tls/*"))):
        with open(p, "rb") as f:
            data = f.read()
        if len(data) < 3:
            continue
        c2s_len = int.from_bytes(data[1:3], "big")
        for chain in tls_chains(data[3 + c2s_len:]):
            body = b"".join(struct.pack(">H", len(c)) + c for c in chain[:8])
            write(out, "fuzz_x509", bytes([0, 16]) + b"ftp.example.test" + body)


def seeds_cli(out):
    argvs = [
        [b"-r", b"a.pcap", b"--format", b"json", b"-v"],
        [b"-i", b"eth1", b"-Z", b"nobody", b"--summary", b"port", b"21", b"or", b"portrange",
         b"50000-50100"],
        [b"-r", b"a.pcap", b"--passive-range", b"50000-50100", b"--allow-client", b"10.0.0.0/8",
         b"--fail-on", b"high", b"--ctrl-port", b"2121", b"--brute-force", b"5/60"],
        [b"-r", b"-", b"-w", b"x.pcapng", b"--format", b"zeek", b"--color", b"never",
         b"--allow-server", b"fd00::/8", b"--ca-file", b"ca.pem", b"--server-name", b"h"],
        [b"-r", b"a.pcap", b"-c", b"10", b"-G", b"5", b"-s", b"96", b"--no-ndpi",
         b"--verify-checksums", b"--show-passwords", b"--stats", b"--flows"],
    ]
    config = (b"# policy\npassive-range = 50000-50100\nallow-client = 10.0.0.0/8\n"
              b"allow-server = fd00::/8\nbrute-force = 5/60\nshow-passwords = no\n"
              b"ca-file = /etc/ssl/certs/ca-certificates.crt\nserver-name = ftp.example\n"
              b"fail-on = medium\nctrl-port = 2121\nno-ndpi = yes\nverify-checksums = on\n")
    for a in argvs:
        write(out, "fuzz_cli_opts", b"\0".join(a) + b"\0")
        write(out, "fuzz_cli_opts", b"\0".join(a) + b"\0\0" + config)
    # fuzz_cli_out: every byte value in the user name and the path; and plain names.
    everything = bytes(range(256))
    write(out, "fuzz_cli_out", bytes([3, 0x35, 255]) + everything[:255] + bytes([12]) +
          b"220 hello\r\n" + b"\xff" + everything)
    write(out, "fuzz_cli_out", bytes([0, 0, 9]) + b"anonymous" + bytes([5]) + b"ready" +
          b"/pub/readme.txt")
    write(out, "fuzz_cli_out", bytes([0x81, 0xfe, 4]) + "jos\u00e9".encode()[:4] + bytes([3]) +
          b"\xc3\x28\xe2" + "f\u00fcr/\U0001f600".encode())


def main():
    out = sys.argv[1]
    caps = sorted(glob.glob(os.path.join(ROOT, "captures/*.pcap")) +
                  glob.glob(os.path.join(ROOT, "tests/crafted/*.pcap")))
    for c in caps:
        seeds_from_capture(out, c)
    seeds_x509(out)
    seeds_x509_from_tls(out)
    seeds_cli(out)


if __name__ == "__main__":
    main()
