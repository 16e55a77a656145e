#!/usr/bin/python3
"""Instrumented FTP client for the ftpinspect captures lab.

Built on Python's ftplib / FTP_TLS.  It runs a plan of FTP sessions and
writes a JSON log of what it did and what it saw: the control connection's
getsockname()/getpeername(), each command and reply, and for every data
connection its own getsockname()/getpeername(), the command, the byte count
and the final reply.  The truth files are written from this log
(mktruth.py), never from the capture.

Plan (JSON, --plan FILE or --plan-json TEXT):
  {"sessions": [ {"host": "10.0.2.2", "port": 21, "tls": "none"|"implicit",
                  "server_hostname": null, "source": null,
                  "steps": [ ["login", "user", "pw"], ["auth"], ["prot", "P"],
                             ["pasv"|"epsv"|"port"|"eprt", {...opts}],
                             ["list"], ["retr", "file"], ["stor", "file", size],
                             ["raw", "CMD arg"], ["sleep", s], ["wait_file", path],
                             ["quit"] ] } ],
   "parallel": 1}
A transfer step uses the data mode of the last pasv/epsv/port/eprt step.
"""
import argparse
import ftplib
import json
import os
import socket
import ssl
import sys
import threading
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import time


def now():
    return time.time()


class Session:
    def __init__(self, spec, tls_opts, log_lock):
        self.spec = spec
        self.tls_opts = tls_opts
        self.rec = {"client_ip": None, "client_port": None,
                    "server_ip": None, "server_port": None,
                    "user": None, "login": "none", "login_visible": True,
                    "password_in_clear": False, "pass_count": 0,
                    "failed_pass_clear": 0, "failed_pass": 0,
                    "tls": spec.get("tls", "none"), "prot": None,
                    "prot_visible": True, "anonymous": False,
                    "auth_refused": 0, "active_accepted": False,
                    "active_accepted_visible": False,
                    "bounce": 0, "pasv_other_addr": False,
                    "transcript": [], "data": [], "errors": []}
        self.encrypted = spec.get("tls") == "implicit"
        self.mode = None
        self.ctx = None
        self.ftp = None

    # ---- helpers -------------------------------------------------------
    def log(self, direction, line):
        self.rec["transcript"].append([round(now(), 6), direction,
                                       line, self.encrypted])

    def make_ctx(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        o = self.tls_opts
        if o.get("min"):
            ctx.minimum_version = getattr(ssl.TLSVersion, o["min"])
        if o.get("max"):
            ctx.maximum_version = getattr(ssl.TLSVersion, o["max"])
        if o.get("ciphers"):
            ctx.set_ciphers(o["ciphers"])
        return ctx

    def cmd(self, line, expect_final=True):
        f = self.ftp
        shown = line if not line.upper().startswith("PASS ") else line
        self.log(">", shown)
        f.putcmd(line)
        resp = f.getmultiline()
        self.log("<", resp)
        while expect_final and resp[:1] == "1":
            resp = f.getmultiline()
            self.log("<", resp)
        return resp

    def getresp(self):
        resp = self.ftp.getmultiline()
        self.log("<", resp)
        return resp

    # ---- connection ----------------------------------------------------
    def connect(self):
        s = self.spec
        self.ctx = self.make_ctx()
        if s.get("tls") == "implicit" or s.get("tls_possible", False) or True:
            f = ftplib.FTP_TLS(context=self.ctx)
        f.set_debuglevel(0)
        src = (s["source"], 0) if s.get("source") else None
        f.host = s["host"]
        f.port = s.get("port", 21)
        sock = socket.create_connection((s["host"], f.port), 15,
                                        source_address=src)
        f.af = sock.family
        self.local = sock.getsockname()
        self.peer = sock.getpeername()
        self.rec["client_ip"], self.rec["client_port"] = self.local[0], self.local[1]
        self.rec["server_ip"], self.rec["server_port"] = self.peer[0], self.peer[1]
        if s.get("tls") == "implicit":
            sock = self.ctx.wrap_socket(sock, server_hostname=s.get("server_hostname"))
            self.rec["tls_version"] = sock.version()
            self.rec["tls_cipher"] = sock.cipher()[0]
        f.sock = sock
        f.file = sock.makefile("r", encoding=f.encoding)
        self.ftp = f
        f.welcome = self.getresp()

    # ---- steps ---------------------------------------------------------
    def step_login(self, user, pw, *rest):
        self.rec["user"] = user
        vis = not self.encrypted
        r = self.cmd("USER " + user)
        if r.startswith("331") or r.startswith("332"):
            self.rec["pass_count"] += 1
            if not self.encrypted:
                self.rec["password_in_clear"] = True
            r = self.cmd("PASS " + pw)
        if r.startswith("230"):
            self.rec["login"] = "success"
            if user.lower() in ("anonymous", "ftp"):
                self.rec["anonymous"] = True
        elif r[:1] in "45":
            if self.rec["login"] != "success":
                self.rec["login"] = "failed"
            if self.rec["pass_count"]:
                self.rec["failed_pass"] += 1
                if vis:
                    self.rec["failed_pass_clear"] += 1
        self.rec["login_visible"] = vis

    def step_auth(self, kind="TLS"):
        r = self.cmd("AUTH " + kind)
        if r.startswith("234"):
            self.ftp.sock = self.ctx.wrap_socket(
                self.ftp.sock, server_hostname=self.spec.get("server_hostname"))
            self.ftp.file = self.ftp.sock.makefile("r", encoding=self.ftp.encoding)
            self.encrypted = True
            self.rec["tls"] = "explicit"
            self.rec["tls_version"] = self.ftp.sock.version()
            self.rec["tls_cipher"] = self.ftp.sock.cipher()[0]
        else:
            self.rec["auth_refused"] += 1
        return r

    def step_prot(self, level):
        self.cmd("PBSZ 0")
        r = self.cmd("PROT " + level)
        if r.startswith("200"):
            self.rec["prot"] = level
            self.rec["prot_visible"] = not self.encrypted

    def step_pasv(self, opts=None):
        self.mode = ("PASV", opts or {})

    def step_epsv(self, opts=None):
        self.mode = ("EPSV", opts or {})

    def step_port(self, opts=None):
        self.mode = ("PORT", opts or {})

    def step_eprt(self, opts=None):
        self.mode = ("EPRT", opts or {})

    def step_raw_lines(self, lines, settle=1.0):
        """Send lines as they are, then read every reply that arrives within `settle` s."""
        f = self.ftp
        for ln in lines:
            self.log(">", ln[:80] + ("...(%d bytes)" % len(ln) if len(ln) > 80 else ""))
            f.sock.sendall((ln + "\r\n").encode(f.encoding))
        f.sock.settimeout(settle)
        try:
            while True:
                r = f.getmultiline()
                self.log("<", r)
        except (socket.timeout, TimeoutError):
            pass
        finally:
            f.sock.settimeout(15)

    def step_raw(self, line):
        return self.cmd(line)

    def step_sleep(self, secs):
        time.sleep(secs)

    def step_wait_file(self, path, timeout=30):
        # everything before this step happened before the capture started
        self.rec["capture_started_at_data"] = len(self.rec["data"])
        t0 = now()
        while not os.path.exists(path) and now() - t0 < timeout:
            time.sleep(0.1)

    def step_touch(self, path):
        open(path, "w").close()

    def step_quit(self):
        try:
            self.cmd("QUIT")
        except Exception as e:  # server may have closed
            self.rec["errors"].append("QUIT: %r" % e)

    def wrap_data(self, conn):
        if self.rec["prot"] == "P":
            sess = self.ftp.sock.session if self.tls_opts.get("reuse", True) else None
            conn = self.ctx.wrap_socket(conn, server_hostname=self.spec.get("server_hostname"),
                                        session=sess)
        return conn

    def transfer(self, command, fname=None, payload=None, cut=None):
        kind, opts = self.mode
        d = {"mode": "passive" if kind in ("PASV", "EPSV") else "active",
             "announced_by": kind, "command": command, "file": fname,
             "tls": self.rec["prot"] == "P",
             "control_encrypted": self.encrypted}
        line = command + (" " + fname if fname else "")
        listener = None
        conn = None
        if kind in ("PASV", "EPSV"):
            r = self.cmd(kind)
            if kind == "PASV":
                host, port = ftplib.parse227(r)
                if host != self.peer[0]:
                    self.rec["pasv_other_addr"] = True
                    if not self.encrypted:
                        self.rec["pasv_other_addr_visible"] = True
                    if opts.get("use_announced"):
                        pass
                    else:
                        host = self.peer[0]
            else:
                _, port = ftplib.parse229(r, self.peer)
                host = self.peer[0]
            src = (opts["source"], 0) if opts.get("source") else None
            d["announced"] = [host, port]
            try:
                conn = socket.create_connection((host, port), opts.get("timeout", 10),
                                                source_address=src)
            except OSError as e:
                d["connect_error"] = str(e)
                d["client_ip"] = opts.get("source") or self.local[0]
                d["server_ip"], d["server_port"] = host, port
                d["status"] = "not_connected"
                self.rec["data"].append(d)
                return
            loc, rem = conn.getsockname(), conn.getpeername()
            d["client_ip"], d["client_port"] = loc[0], loc[1]
            d["server_ip"], d["server_port"] = rem[0], rem[1]
            r = self.cmd(line, expect_final=False)
            if r[:1] != "1":
                d["status_reply"] = r
                conn.close()
                self.rec["data"].append(d)
                return
            conn = self.wrap_data(conn)
        else:
            bind_ip = opts.get("ip") or self.local[0]
            listener = socket.socket(self.ftp.af, socket.SOCK_STREAM)
            listener.bind((self.local[0], 0))
            listener.listen(1)
            lport = listener.getsockname()[1]
            if kind == "PORT":
                arg = "PORT " + ",".join(bind_ip.split(".") + [str(lport >> 8), str(lport & 255)])
            else:
                af = 2 if ":" in bind_ip else 1
                arg = "EPRT |%d|%s|%d|" % (af, bind_ip, lport)
            if bind_ip != self.local[0]:
                self.rec["bounce" if not self.encrypted else "bounce_hidden"] = \
                    self.rec.get("bounce" if not self.encrypted else "bounce_hidden", 0) + 1
            r = self.cmd(arg)
            if not r.startswith("200"):
                d["port_reply"] = r
                listener.close()
                self.rec["data"].append(dict(d, status="port_refused", no_connection=True))
                return
            self.rec["active_accepted"] = True
            if not self.encrypted:
                self.rec["active_accepted_visible"] = True
            r = self.cmd(line, expect_final=False)
            if r[:1] != "1":
                d["status_reply"] = r
                listener.close()
                self.rec["data"].append(dict(d, no_connection=True))
                return
            listener.settimeout(15)
            conn, _ = listener.accept()
            listener.close()
            # the server is the TCP initiator: it is the data event's client
            loc, rem = conn.getsockname(), conn.getpeername()
            d["client_ip"], d["client_port"] = rem[0], rem[1]
            d["server_ip"], d["server_port"] = loc[0], loc[1]
            conn = self.wrap_data(conn)
        n = 0
        if payload is None:
            while True:
                b = conn.recv(65536 if cut is None else min(65536, cut - n))
                if not b:
                    break
                n += len(b)
                if cut is not None and n >= cut:
                    # stop reading: close at once (RST, unread data pending)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    __import__("struct").pack("ii", 1, 0))
                    d["cut_after"] = n
                    break
            if isinstance(conn, ssl.SSLSocket):
                try:
                    conn.unwrap()
                except Exception:
                    pass
        else:
            conn.sendall(payload)
            n = len(payload)
            if isinstance(conn, ssl.SSLSocket):
                try:
                    conn.unwrap()
                except Exception:
                    pass
        conn.close()
        d["bytes"] = n
        r = self.getresp()
        d["final_reply"] = r[:3]
        d["status"] = "completed" if r[:3] in ("226", "250") else (
            "aborted" if r[:3] in ("425", "426", "451") else "failed")
        self.rec["data"].append(d)

    def step_list(self, path=None):
        self.transfer("LIST", path)

    def step_nlst(self, path=None):
        self.transfer("NLST", path)

    def step_retr(self, fname):
        self.transfer("RETR", fname)

    def step_mlsd(self, path=None):
        self.transfer("MLSD", path)

    def step_retr_cut(self, fname, nbytes):
        """RETR, but close the data connection after nbytes (server answers 426)."""
        self.transfer("RETR", fname, cut=nbytes)

    def step_appe(self, fname, size, seed=8):
        self.step_stor(fname, size, seed, command="APPE")

    def step_stou(self, size, seed=9):
        self.step_stor(None, size, seed, command="STOU")

    def step_stor(self, fname, size, seed=7, command="STOR"):
        import random
        rnd = random.Random(seed)
        payload = bytes(rnd.getrandbits(8) for _ in range(min(size, 4096)))
        payload = (payload * (size // len(payload) + 1))[:size]
        self.transfer(command, fname, payload)

    def run(self):
        try:
            self.connect()
            for st in self.spec["steps"]:
                getattr(self, "step_" + st[0])(*st[1:])
        except Exception as e:
            self.rec["errors"].append("%s: %r" % (type(e).__name__, e))
        finally:
            try:
                if self.ftp is not None and self.ftp.sock is not None:
                    self.ftp.sock.close()
            except Exception:
                pass
        return self.rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan")
    ap.add_argument("--plan-json")
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    plan = json.load(open(a.plan)) if a.plan else json.loads(a.plan_json)
    tls_opts = plan.get("tls_opts", {})
    lock = threading.Lock()
    results = [None] * len(plan["sessions"])
    if plan.get("parallel"):
        ths = []
        for i, s in enumerate(plan["sessions"]):
            def go(i=i, s=s):
                results[i] = Session(s, tls_opts, lock).run()
            t = threading.Thread(target=go)
            t.start()
            ths.append(t)
        for t in ths:
            t.join()
    else:
        for i, s in enumerate(plan["sessions"]):
            results[i] = Session(s, tls_opts, lock).run()
            if plan.get("pause_between"):
                time.sleep(plan["pause_between"])
    with open(a.log, "w") as fh:
        json.dump({"client": "python3 ftplib (captures/lab/ftpclient.py)",
                   "sessions": results}, fh, indent=1)
    bad = [e for r in results for e in r["errors"]]
    for e in bad:
        print("ftpclient:", e, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
