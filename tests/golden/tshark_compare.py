#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Compares what ftpinspect saw in a capture's FTP control channels with what tshark's FTP
dissector reports: the sequence of commands (verb and argument), of reply codes, and of the data
endpoints announced by PASV/EPSV/PORT/EPRT, per control connection. tshark is the peer; a
difference is a failure with both sides printed. Passwords are compared redacted.
Exit 0 = equal, 1 = different, 77 = skipped (tshark missing)."""
import argparse
import json
import os
import shutil
import subprocess
import sys

SKIP = 77


def key(ip1, p1, ip2, p2):
    a, b = (ip1, int(p1)), (ip2, int(p2))
    return tuple(sorted([a, b]))


def tshark_view(pcap, ctrl_ports):
    decode = []
    for p in ctrl_ports:
        decode += ["-d", f"tcp.port=={p},ftp"]
    fields = ["frame.number", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
              "tcp.dstport", "ftp.request.command", "ftp.request.arg", "ftp.response.code",
              "ftp.passive.ip", "ftp.passive.port", "ftp.active.cip", "ftp.active.port",
              "ftp.eprt.ip", "ftp.eprt.ipv6", "ftp.eprt.port", "ftp.epsv.port"]
    cmd = ["tshark", "-r", pcap, "-o", "tcp.desegment_tcp_streams:TRUE", "-Y", "ftp"] + decode
    cmd += ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    conns = {}
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(fields) - len(v))
        d = dict(zip(fields, v))
        src = d["ip.src"] or d["ipv6.src"]
        dst = d["ip.dst"] or d["ipv6.dst"]
        if "|" in src or "|" in dst or not d["tcp.srcport"]:
            continue  # tunnels: skip
        c = conns.setdefault(key(src, d["tcp.srcport"], dst, d["tcp.dstport"]),
                             {"cmds": [], "codes": [], "ann": []})
        verbs = [x for x in d["ftp.request.command"].split("|") if x]
        args = d["ftp.request.arg"].split("|") if d["ftp.request.arg"] else []
        for i, vb in enumerate(verbs):
            arg = args[i] if i < len(args) else ""
            if not vb.isalpha():
                continue  # tshark takes TLS records after AUTH for commands
            if vb.upper() == "PASS":
                arg = "***"
            if vb.upper() == "EPRT" and arg == "":
                arg = None  # tshark dissects EPRT's argument into fields only
            c["cmds"].append((vb.upper(), arg))
        for code in [x for x in d["ftp.response.code"].split("|") if x]:
            c["codes"].append(int(code))
        for ipf, portf in (("ftp.passive.ip", "ftp.passive.port"),
                           ("ftp.active.cip", "ftp.active.port"),
                           ("ftp.eprt.ip", "ftp.eprt.port"), ("ftp.eprt.ipv6", "ftp.eprt.port")):
            if d[ipf] and d[portf]:
                c["ann"].append((d[ipf].split("|")[0], int(d[portf].split("|")[0])))
        if d["ftp.epsv.port"]:
            c["ann"].append((None, int(d["ftp.epsv.port"].split("|")[0])))
    return conns


def ours(ftpinspect, pcap, ctrl_ports):
    cmd = [ftpinspect, "-r", pcap, "--format", "json", "-v"]
    for p in ctrl_ports:
        cmd += ["--ctrl-port", str(p)]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    conns = {}
    for line in out.splitlines():
        e = json.loads(line)
        if e["event"] not in ("command", "reply", "expect"):
            continue
        if e["event"] == "expect":
            # expect events carry no endpoints of the control connection: use the session's
            c = sessions_by_id.get(e["session"])
            if c is not None:
                c["ann"].append((e["ip"], e["port"]))
            continue
        k = key(e["client"]["ip"], e["client"]["port"], e["server"]["ip"], e["server"]["port"])
        c = conns.setdefault(k, {"cmds": [], "codes": [], "ann": []})
        sessions_by_id[e["session"]] = c
        if e["event"] == "command":
            c["cmds"].append((e["verb"], e["arg"]))
        else:
            c["codes"].append(e["code"])

    return conns


sessions_by_id = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--truth", help="a truth file: its capture and options are used")
    ap.add_argument("--pcap")
    a = ap.parse_args()
    if shutil.which("tshark") is None:
        print("SKIP: tshark not installed")
        return SKIP
    ctrl_ports = []
    if a.truth:
        t = json.load(open(a.truth))
        if "public_pcap" in t:
            print("SKIP: public captures are compared by check_truth.py")
            return SKIP
        pcap = os.path.join(os.path.dirname(os.path.abspath(a.truth)), t["pcap"])
        opts = t.get("options", [])
        for i, o in enumerate(opts):
            if o == "--ctrl-port" and i + 1 < len(opts):
                ctrl_ports.append(int(opts[i + 1]))
        for s in t.get("sessions", []):
            if s.get("server_port") not in (None, 21, 990) and s["server_port"] not in ctrl_ports:
                ctrl_ports.append(s["server_port"])
    else:
        pcap = a.pcap
    theirs = tshark_view(pcap, ctrl_ports)
    mine = ours(a.ftpinspect, pcap, ctrl_ports)
    errors = []
    for k, tv in theirs.items():
        if not tv["cmds"] and not tv["codes"]:
            continue
        mv = mine.get(k)
        if mv is None:
            errors.append(f"{k}: tshark sees FTP ({len(tv['cmds'])} commands), ftpinspect none")
            continue
        mcmds = [(v, None if (v == "EPRT" and (v, None) in tv["cmds"]) else a)
                 for v, a in mv["cmds"]]
        if tv["cmds"] != mcmds:
            errors.append(f"{k}: commands differ\n    tshark: {tv['cmds']}\n    ours:   {mv['cmds']}")
        # tshark gives a code for every line of a multi-line reply that starts with one: runs
        # of one code are compared as one on both sides
        def runs(codes):
            return [c for i, c in enumerate(codes) if i == 0 or codes[i - 1] != c]
        if runs(tv["codes"]) != runs(mv["codes"]):
            errors.append(f"{k}: reply codes differ\n    tshark: {tv['codes']}\n    ours:   {mv['codes']}")
        t_ann = [(ip, p) for ip, p in tv["ann"]]
        m_ann = [(None if ip is None else ip, p) for ip, p in mv["ann"]]
        # tshark leaves the EPSV address out: compare ports there
        if [p for _, p in t_ann] != [p for _, p in m_ann] or any(
                ti is not None and ti != mi for (ti, _), (mi, _) in zip(t_ann, m_ann)):
            errors.append(f"{k}: announcements differ\n    tshark: {t_ann}\n    ours:   {m_ann}")
    for k in mine:
        if k not in theirs and mine[k]["cmds"]:
            errors.append(f"{k}: ftpinspect sees FTP that tshark does not")
    if errors:
        print(f"FAIL {pcap}:")
        for e in errors:
            print("  - " + e)
        return 1
    n = sum(len(v["cmds"]) for v in theirs.values())
    print(f"ok {os.path.basename(pcap)}: {len(theirs)} control connection(s), {n} commands agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
