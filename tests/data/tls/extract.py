#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Splits a loopback pcap (Ethernet or Linux SLL, IPv4/TCP) into one stream per TCP connection and
direction: <base>.<n>.c2s and <base>.<n>.s2c (n = 1.. in connection order). Payload is placed by
sequence number relative to the SYN, so retransmissions and reordering do not matter."""
import os
import struct
import sys


def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    linktype = struct.unpack(end + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + 'IIII', data[off:off + 16])
        yield linktype, data[off + 16:off + 16 + incl]
        off += 16 + incl


def main(path):
    conns = {}  # key (client, server) -> dict
    order = []
    for lt, pkt in packets(path):
        if lt == 1:
            if struct.unpack('>H', pkt[12:14])[0] != 0x0800:
                continue
            ip = pkt[14:]
        elif lt == 113:
            ip = pkt[16:]
        else:
            raise SystemExit('linktype %d' % lt)
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack('>H', ip[2:4])[0]
        if ip[9] != 6:
            continue
        tcp = ip[ihl:tot]
        sport, dport, seq = struct.unpack('>HHI', tcp[:8])
        flags = tcp[13]
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:]
        src = (bytes(ip[12:16]), sport)
        dst = (bytes(ip[16:20]), dport)
        if flags & 0x02 and not flags & 0x10:  # SYN
            key = (src, dst)
            conns[key] = {'isn': {src: seq}, 'data': {src: {}, dst: {}}}
            order.append(key)
            continue
        key = (src, dst) if (src, dst) in conns else (dst, src)
        if key not in conns:
            continue
        c = conns[key]
        if flags & 0x02:  # SYN-ACK
            c['isn'][src] = seq
            continue
        if payload and src in c['isn']:
            c['data'][src][(seq - c['isn'][src] - 1) & 0xffffffff] = payload
    base = path[:-5] if path.endswith('.pcap') else path
    base = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(base))),
                        os.path.basename(base))
    for i, key in enumerate(order, 1):
        c = conns[key]
        for side, suffix in ((key[0], 'c2s'), (key[1], 's2c')):
            buf = bytearray()
            for off in sorted(c['data'][side]):
                p = c['data'][side][off]
                if off + len(p) <= len(buf):
                    continue
                if off > len(buf):
                    raise SystemExit('gap in %s' % path)
                buf += p[len(buf) - off:]
            with open('%s.%d.%s' % (base, i, suffix), 'wb') as f:
                f.write(buf)


if __name__ == '__main__':
    main(sys.argv[1])
