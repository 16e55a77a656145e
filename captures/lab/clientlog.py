#!/usr/bin/python3
"""Turn a curl -v or lftp -d debug log of one FTP control session into the
client-log JSON that mktruth.py reads (the same shape ftpclient.py writes).

Only what the client printed is used: the control endpoint it connected to,
each command and reply, the address/port of each data connection it opened,
the transfer command and its final reply.  What the tool does not print is
given on the command line from the scenario's own knowledge (the client
address the namespace has, the sizes of the files the script created).
"""
import argparse
import json
import re
import sys


def parse(lines, kind):
    if kind == "curl":
        cmd_re, rep_re = re.compile(r"^> (.*)$"), re.compile(r"^< (.*)$")
        ctrl_re = re.compile(r"^\* Connected to \S+ \((\S+)\) port (\d+)")
        data_re = re.compile(r"^\* Connecting to \S+ \((\S+)\) port (\d+)")
        bytes_re = re.compile(r"^[{}] \[(\d+) bytes data\]")
    else:
        cmd_re, rep_re = re.compile(r"^---> (.*)$"), re.compile(r"^<--- (.*)$")
        ctrl_re = re.compile(r"^---- Connecting to \S+ \((\S+)\) port (\d+)")
        data_re = re.compile(r"^---- Connecting data socket to \((\S+)\) port (\d+)")
        bytes_re = None
    ev = []
    for ln in lines:
        ln = ln.rstrip("\r\n")
        m = data_re.match(ln)
        if m:
            ev.append(("data", m.group(1), int(m.group(2))))
            continue
        m = ctrl_re.match(ln)
        if m:
            ev.append(("ctrl", m.group(1), int(m.group(2))))
            continue
        m = cmd_re.match(ln)
        if m:
            ev.append(("cmd", m.group(1)))
            continue
        m = rep_re.match(ln)
        if m and re.match(r"^\d{3}[ -]", m.group(1)):
            ev.append(("rep", m.group(1)))
            continue
        if bytes_re:
            m = bytes_re.match(ln)
            if m:
                ev.append(("bytes", int(m.group(1))))
    return ev


def build(ev, a):
    rec = {"client_ip": a.client_ip, "client_port": None, "server_ip": None,
           "server_port": None, "user": None, "login": "none", "login_visible": True,
           "password_in_clear": False, "failed_pass_clear": 0, "tls": "implicit" if a.implicit else "none",
           "prot": None, "prot_visible": True, "anonymous": False, "auth_refused": 0,
           "active_accepted_visible": False, "bounce": 0, "data": [], "errors": [],
           "transcript": []}
    encrypted = a.implicit
    last_cmd = None
    pending = None      # data connection waiting for its transfer command
    cur = None          # data connection in transfer
    mode = None
    sizes = dict(s.split("=", 1) for s in a.size)
    for e in ev:
        rec["transcript"].append(list(e))
        if e[0] == "ctrl" and rec["server_ip"] is None:
            rec["server_ip"], rec["server_port"] = e[1], e[2]
        elif e[0] == "data":
            pending = {"client_ip": a.client_ip, "server_ip": e[1], "server_port": e[2],
                       "mode": "passive", "announced_by": mode, "tls": rec["prot"] == "P",
                       "control_encrypted": encrypted}
        elif e[0] == "cmd":
            c = e[1]
            verb = c.split(" ", 1)[0].upper()
            arg = c.split(" ", 1)[1] if " " in c else None
            last_cmd = (verb, arg)
            if verb in ("PASV", "EPSV"):
                mode = verb
            if verb in ("LIST", "NLST", "MLSD", "RETR", "STOR", "APPE") and pending:
                cur = pending
                pending = None
                cur["command"], cur["file"] = verb, arg
                if arg and arg in sizes:
                    cur["bytes"] = int(sizes[arg])
                elif verb == "STOR" and arg:
                    base = arg.rsplit("/", 1)[-1]
                    if base in sizes:
                        cur["bytes"] = int(sizes[base])
                elif arg and arg.rsplit("/", 1)[-1] in sizes:
                    cur["bytes"] = int(sizes[arg.rsplit("/", 1)[-1]])
                rec["data"].append(cur)
            if verb == "USER":
                rec["user"] = arg
                rec["login_visible"] = not encrypted
            if verb == "PASS" and not encrypted:
                rec["password_in_clear"] = True
        elif e[0] == "bytes" and cur is not None and cur["command"] in ("LIST", "NLST", "MLSD") \
                and not cur.get("tls") and a.count_listing_bytes:
            cur["bytes"] = cur.get("bytes", 0) + e[1]
        elif e[0] == "rep":
            code = e[1][:3]
            if e[1][3:4] == "-":
                continue
            verb = last_cmd[0] if last_cmd else None
            if verb == "PASS":
                if code == "230":
                    rec["login"] = "success"
                    if (rec["user"] or "").lower() in ("anonymous", "ftp"):
                        rec["anonymous"] = True
                elif code[0] in "45":
                    if rec["login"] != "success":
                        rec["login"] = "failed"
                    if not encrypted:
                        rec["failed_pass_clear"] += 1
            elif verb == "AUTH":
                if code == "234":
                    encrypted = True
                    rec["tls"] = "explicit"
                elif code[0] in "45":
                    rec["auth_refused"] += 1
            elif verb == "PASV" and code == "227":
                m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", e[1])
                if m and ".".join(m.groups()[:4]) != rec["server_ip"] and not encrypted:
                    rec["pasv_other_addr_visible"] = True
            elif verb == "PROT" and code == "200":
                rec["prot"] = last_cmd[1].upper()
                rec["prot_visible"] = not encrypted
            elif cur is not None and verb == cur["command"] and code[0] in "2345":
                cur["status"] = "completed" if code in ("226", "250") else (
                    "aborted" if code in ("425", "426", "451") else "failed")
                cur = None
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["curl", "lftp"], required=True)
    ap.add_argument("--client-ip", required=True)
    ap.add_argument("--implicit", action="store_true")
    ap.add_argument("--size", action="append", default=[], help="FILE=BYTES")
    ap.add_argument("--count-listing-bytes", action="store_true",
                    help="curl: LIST size from its '[N bytes data]' lines")
    ap.add_argument("--out", required=True)
    ap.add_argument("logs", nargs="+", help="one log per control session")
    a = ap.parse_args()
    recs = [build(parse(open(f, errors="replace").readlines(), a.kind), a) for f in a.logs]
    with open(a.out, "w") as fh:
        json.dump({"client": a.kind, "sessions": recs}, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
