#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""No secret in any output: for every truth file given that names "secrets" (passwords, SASL
data of its capture), runs ftpinspect over the capture in every output format - text, JSON, Zeek
(all with -v, --flows, --stats, --summary), the comments of a -w pcapng - and looks for each
secret in stdout, stderr and the comments. With --ws-plugin, the Wireshark plugin's own tree
(tshark -T json -J ftpinspect) is searched too (through tests/wireshark/ws_test.py's set-up).
Exit 0 = no secret found, 1 = a secret leaked (each printed), 77 = nothing to check (public
captures absent). Python 3 standard library only."""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))


def pcap_of(truth_path, truth, public_dir):
    if "public_pcap" in truth:
        return os.path.join(public_dir, truth["public_pcap"])
    return os.path.join(os.path.dirname(os.path.abspath(truth_path)), truth["pcap"])


def pcapng_comments(path):
    """The opt_comment strings of every block of a pcapng file (little or big endian)."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    off = 0
    end = "<"
    while off + 12 <= len(data):
        btype = struct.unpack_from(end + "I", data, off)[0]
        if btype == 0x0A0D0D0A:
            end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack_from(end + "II", data, off)
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        opt = None
        if btype == 6 and len(body) >= 20:  # enhanced packet block
            caplen = struct.unpack_from(end + "I", body, 12)[0]
            opt = 20 + ((caplen + 3) & ~3)
        elif btype in (0x0A0D0D0A,):
            opt = 16
        elif btype == 1:
            opt = 8
        while opt is not None and opt + 4 <= len(body):
            code, olen = struct.unpack_from(end + "HH", body, opt)
            if code == 0:
                break
            if code == 1:
                out.append(body[opt + 4:opt + 4 + olen].decode("utf-8", "replace"))
            opt += 4 + ((olen + 3) & ~3)
        off += blen
    return out


def outputs(ftpinspect, pcap, options, tmp):
    """(name, text) of every output of one capture."""
    res = []
    common = ["-r", pcap, "-v", "--flows", "--stats", "--summary", "--no-progress"] + options
    for fmt in ("text", "json", "zeek"):
        p = subprocess.run([ftpinspect, "--format", fmt] + common, capture_output=True)
        res.append((fmt, p.stdout.decode("utf-8", "replace")))
        res.append((fmt + " stderr", p.stderr.decode("utf-8", "replace")))
    out = os.path.join(tmp, "annotated.pcapng")
    p = subprocess.run([ftpinspect, "-r", pcap, "-w", out] + options, capture_output=True)
    res.append(("-w stdout", p.stdout.decode("utf-8", "replace")))
    res.append(("-w stderr", p.stderr.decode("utf-8", "replace")))
    if os.path.exists(out):
        res.append(("pcapng comments", "\n".join(pcapng_comments(out))))
        os.unlink(out)
    return res


def plugin_output(ws, pcap):
    """The plugin's tree only (the FTP dissector's own display shows the PASS line)."""
    return ws.tshark("-r", ws.capture_path(pcap), "-T", "json", "-J", "ftpinspect")


class Ws:
    """tshark with the freshly built plugin, set up the way tests/wireshark/ws_test.py does."""

    def __init__(self, plugin, majmin, tshark):
        sys.path.insert(0, os.path.join(HERE, "..", "wireshark"))
        import ws_test  # noqa: E402
        ws_test.ARGS = argparse.Namespace(plugin=plugin, majmin=majmin, tshark=tshark,
                                          captures=None)
        ws_test.PREFIX = ws_test.setup()
        self.m = ws_test

    def capture_path(self, pcap):
        dst = os.path.join(self.m.HOME, os.path.basename(pcap))
        with open(pcap, "rb") as s, open(dst, "wb") as d:
            d.write(s.read())
        os.chmod(dst, 0o644)
        return dst

    def tshark(self, *args):
        return self.m.tshark(*args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--public-dir", default=os.environ.get("FTPI_PUBLIC_CAPTURES") or
                    os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared",
                                                  "captures-public")))
    ap.add_argument("--ws-plugin")
    ap.add_argument("--ws-majmin")
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("truths", nargs="+")
    a = ap.parse_args()

    ws = None
    if a.ws_plugin:
        try:
            ws = Ws(a.ws_plugin, a.ws_majmin, a.tshark)
        except Exception as exc:  # ws_test's Skip (root without setpriv), no tshark
            print(f"SKIP: the Wireshark plugin cannot be run: {exc}")
            return SKIP
    leaks = []
    checked = 0
    with tempfile.TemporaryDirectory(prefix="ftpi-secrets-") as tmp:
        for t in a.truths:
            with open(t) as f:
                truth = json.load(f)
            secrets = truth.get("secrets", [])
            if not secrets:
                continue
            pcap = pcap_of(t, truth, a.public_dir)
            if not os.path.exists(pcap):
                continue
            checked += 1
            outs = [] if ws else outputs(a.ftpinspect, pcap, truth.get("options", []), tmp)
            if ws:
                outs.append(("wireshark plugin", plugin_output(ws, pcap)))
            for name, text in outs:
                for s in secrets:
                    if s in text:
                        line = next(l for l in text.splitlines() if s in l)
                        leaks.append(f"{os.path.basename(pcap)}: {name}: {s!r} in: "
                                     f"{line[:200]}")
    if checked == 0:
        print("SKIP: no capture with secrets found")
        return SKIP
    if leaks:
        print(f"FAIL: {len(leaks)} secret(s) in outputs:")
        for l in leaks:
            print("  - " + l)
        return 1
    print(f"ok: {checked} capture(s), no secret in any output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
