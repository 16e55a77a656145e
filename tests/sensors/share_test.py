#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Sensors sharing through Redis (--share, --events-to), against the real redis-server the
ctest fixture started (redis_fixture.sh; its port in STATE/port).

  split FTPINSPECT STATE DB CAPTURE   a capture cut with tcpdump into what two sensors see (the
      control connection's packets; everything else), two ftpinspect processes on one Redis
      (staggered: control first; concurrent; data first; concurrent with --workers 2), the union of their data events and
      findings equal to one process on the whole capture, without duplicates; then "late":
      the control sensor decides alone (--share-wait 0) before the data sensor starts, and
      no data connection is reported both missing by one sensor and seen by the other
  faults FTPINSPECT STATE DB CAPTURE  Redis unreachable, wrong password, paused (SIGSTOP),
      killed mid-run: exit 0, local results complete, one warning naming the URL without its
      password, the counters
  faults-workers ...                  the same with --workers 2 (two engines, one I/O thread)
  stream FTPINSPECT STATE DB CAPTURE  --events-to: XRANGE gives back stdout's lines
  slots FTPINSPECT STATE DB CAP1,CAP2 Redis Cluster: every command and every script (with the
      commands it runs, seen with MONITOR) touches the keys of one hash slot
  solo FTPINSPECT STATE DB CAPDIR     one sensor with --share on every lab capture: the data
      events and findings it gives alone
  tls FTPINSPECT STATE DB CAPTURE    rediss://: a private redis-server with TLS only and client
      certificates (tls-auth-clients), certificates made here with openssl: the split sensors
      and --events-to over TLS; a server certificate from another CA, one that does not name
      the host (and the same with ssl_check_hostname=false), no client certificate: exit 0,
      local results complete, the warning says why
Exit 77 (skipped) when the fixture found no redis-server."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fixture(state):
    if os.path.exists(os.path.join(state, "skip")):
        print("SKIP:", open(os.path.join(state, "skip")).read().strip())
        sys.exit(SKIP)
    with open(os.path.join(state, "port")) as f:
        return int(f.read())


def rcli(port, db, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), "-n", str(db), "--raw"] + list(args),
                         capture_output=True, text=True, timeout=30)
    return out.stdout


def events(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def ep(e):
    return (e["ip"], e["port"]) if e else None


def facts(evs):
    """What must be the same: data connections and findings, as multisets."""
    out = []
    for e in evs:
        if e["event"] == "data":
            out.append(("data", ep(e["client"]), ep(e["server"]), e["link"], e["announced_by"],
                        e["mode"], e["command"], e["file"], e["bytes_to_server"],
                        e["bytes_to_client"], e["tls"], e["status"], e.get("used_address")))
        elif e["event"] == "finding":
            out.append(("finding", e["kind"], ep(e.get("client")), ep(e.get("server"))))
    return sorted(out, key=repr)


def explain(evs, got, want, ok, err_a, err_b):
    """The sensors' share_* counters; what differs (and their standard error) when not ok."""
    for e in evs:
        if e["event"] == "stats":
            print("   ", {k: v for k, v in e.items() if k.startswith("share_") and v})
    if not ok:
        for x in want:
            if x not in got:
                print("   missing:", x)
        for x in got:
            if x not in want:
                print("   extra:  ", x)
        print("   stderr a:", err_a.strip(), "\n   stderr b:", err_b.strip())


def run(exe, args, **kw):
    return subprocess.Popen([exe] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def split(exe, state, db, cap):
    port = fixture(state)
    url = "redis://127.0.0.1:%d/%d" % (port, db)
    base = ["--format", "json", "-q", "--stats", "--share-wait", "3"]
    whole = subprocess.run([exe, "-r", cap, "--format", "json", "-q"], capture_output=True,
                           text=True, check=True)
    want = facts(events(whole.stdout))
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        ctl, dat = os.path.join(tmp, "ctl.pcap"), os.path.join(tmp, "dat.pcap")
        for out, flt in ((ctl, "tcp port 21"), (dat, "not tcp port 21")):
            subprocess.run(["tcpdump", "-r", cap, "-w", out, flt], check=True,
                           capture_output=True)
        for mode in ("staggered", "concurrent", "data-first", "workers"):
            rcli(port, db, "FLUSHDB")
            a_args = ["-r", ctl, "--share", url, "--sensor", "a"] + base
            b_args = ["-r", dat, "--share", url, "--sensor", "b"] + base
            if mode == "workers":  # concurrent, two engines in each process sharing its store
                a_args += ["--workers", "2"]
                b_args += ["--workers", "2"]
            if mode == "staggered":
                # the control sensor first: it has read its file and published before the
                # data sensor starts (it then waits for claims on what it did not see)
                pa = run(exe, a_args)
                t0 = time.time()
                while time.time() - t0 < 10 and not rcli(port, db, "KEYS", "ftpi:*:exp:*").strip():
                    time.sleep(0.05)
                time.sleep(0.2)
                pb = run(exe, b_args)
            elif mode in ("concurrent", "workers"):
                pa, pb = run(exe, a_args), run(exe, b_args)
            else:
                # the data sensor first: its lookups wait (pending) for the announcement
                pb = run(exe, b_args)
                time.sleep(0.5)
                pa = run(exe, a_args)
            oa, ea = pa.communicate(timeout=60)
            ob, eb = pb.communicate(timeout=60)
            ev_a, ev_b = events(oa), events(ob)
            got = facts(ev_a + ev_b)
            ok = pa.returncode == 0 and pb.returncode == 0 and got == want
            # the data sensor reports the other sensor's connections, naming it
            remote = [e for e in ev_b if e["event"] == "data"]
            if any(e.get("control_sensor") != "a" for e in remote if e["link"] == "announced"):
                ok = False
            stats = {e2["event"]: e2 for e2 in ev_a + ev_b if e2["event"] == "stats"}
            print("%s %s: exit %d/%d, %d facts (want %d), data events at b: %d" %
                  ("ok" if ok else "FAIL", mode, pa.returncode, pb.returncode, len(got),
                   len(want), len(remote)))
            explain(ev_a + ev_b, got, want, ok, ea, eb)
            fails += 0 if ok else 1
            # no password seen in traffic reaches Redis
            dump = ""
            for k in rcli(port, db, "KEYS", "ftpi:*").split():
                if ":idx:" not in k:
                    dump += rcli(port, db, "HGETALL", k)
            truth = os.path.splitext(cap)[0] + ".truth.json"
            if os.path.exists(truth):
                for sec in json.load(open(truth)).get("secrets", []):
                    if sec in dump:
                        print("FAIL: secret %r found in Redis" % sec)
                        fails += 1
        fails += late(exe, port, db, url, ctl, dat, cap)
    return 1 if fails else 0


def target(e):
    """The data connection an event decides, by its port (a NAT or a balancer changes the
    address): the port a missing finding says was announced, else the port that listened (the
    server's, or the client's for active mode's port 20)."""
    m = re.search(r"data connection to \S+:(\d+) ", e.get("message") or "")
    if m:
        return int(m.group(1))
    srv, cli = ep(e.get("server")), ep(e.get("client"))
    return (cli if srv and srv[1] == 20 else srv)[1]


def decisions(evs):
    """Per announced data connection: how many times it was said to have come or be missing."""
    said = {}
    for e in evs:
        if (e["event"] == "finding" and e["kind"] == "data_connection_missing") or \
                (e["event"] == "data" and e["link"] == "announced"):
            said[target(e)] = said.get(target(e), 0) + 1
    return said


def late(exe, port, db, url, ctl, dat, cap):
    """The control sensor alone first, deciding its missing connections at once (no other sensor
    known, --share-wait 0), then the data sensor: whichever takes an expectation first decides
    it (the owner's verdict is a claim too), so no announced connection is decided more often
    than one sensor with the whole capture decides it (missing at one sensor, seen at the
    other, was the double report)."""
    rcli(port, db, "FLUSHDB")
    base = ["--format", "json", "-q", "--stats"]
    whole = subprocess.run([exe, "-r", cap] + base, capture_output=True, text=True, timeout=60)
    a = subprocess.run([exe, "-r", ctl, "--share", url, "--sensor", "a", "--share-wait", "0"] +
                       base, capture_output=True, text=True, timeout=60)
    b = subprocess.run([exe, "-r", dat, "--share", url, "--sensor", "b", "--share-wait", "1"] +
                       base, capture_output=True, text=True, timeout=60)
    want, got = decisions(events(whole.stdout)), decisions(events(a.stdout) + events(b.stdout))
    over = {k: (v, want.get(k, 0)) for k, v in got.items() if v > want.get(k, 0)}
    ok = a.returncode == 0 and b.returncode == 0 and not over
    print("%s late: exit %d/%d, %d announced connections decided, decided too often "
          "(times, one sensor's): %s" % ("ok" if ok else "FAIL", a.returncode, b.returncode,
                                         sum(got.values()), over))
    if not ok:
        print("   stderr a:", a.stderr.strip(), "\n   stderr b:", b.stderr.strip())
    return 0 if ok else 1


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    """A CA, a server certificate naming only DNS:localhost, a client certificate, and a
    second CA that signed nothing here."""
    for ca in ("ca", "other"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key",
                "-out", ca + ".pem", "-days", "2", "-subj", "/CN=ftpinspect test " + ca, cwd=d)
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    for name, ext in (("srv", ["-extfile", "san.cnf"]), ("cli", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", "/CN=" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", *ext, cwd=d)


def tls_cli(d, port, *args):
    out = subprocess.run(["redis-cli", "--tls", "-h", "localhost", "-p", str(port), "--cacert",
                          d + "/ca.pem", "--cert", d + "/cli.pem", "--key", d + "/cli.key",
                          "--raw"] + list(args), capture_output=True, text=True, timeout=30)
    return out.stdout


def tls_redis(d):
    """A redis-server of this test's own, TLS only, asking for client certificates."""
    return private_redis(d, lambda p: [
        "--port", "0", "--tls-port", str(p), "--tls-cert-file", d + "/srv.pem", "--tls-key-file",
        d + "/srv.key", "--tls-ca-cert-file", d + "/ca.pem", "--tls-auth-clients", "yes"],
        lambda p, *args: tls_cli(d, p, *args))


def tls(exe, state, db, cap):
    fixture(state)  # skips without redis-server
    if subprocess.run(["sh", "-c", "command -v openssl"], capture_output=True).returncode:
        print("SKIP: no openssl to make the test's certificates")
        return SKIP
    fails = 0
    base = ["--format", "json", "-q", "--stats", "--share-wait", "3"]
    whole = subprocess.run([exe, "-r", cap, "--format", "json", "-q"], capture_output=True,
                           text=True, check=True)
    want = facts(events(whole.stdout))
    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        proc, port = tls_redis(d)
        try:
            q = "ssl_ca_certs=%s/ca.pem&ssl_certfile=%s/cli.pem&ssl_keyfile=%s/cli.key" % (d, d, d)
            url = "rediss://localhost:%d/%d?%s" % (port, db, q)
            ctl, dat = os.path.join(d, "ctl.pcap"), os.path.join(d, "dat.pcap")
            for out, flt in ((ctl, "tcp port 21"), (dat, "not tcp port 21")):
                subprocess.run(["tcpdump", "-r", cap, "-w", out, flt], check=True,
                               capture_output=True)
            pa = run(exe, ["-r", ctl, "--share", url, "--sensor", "a"] + base)
            pb = run(exe, ["-r", dat, "--share", url, "--sensor", "b"] + base)
            oa, ea = pa.communicate(timeout=60)
            ob, eb = pb.communicate(timeout=60)
            ev = events(oa) + events(ob)
            errs = sum(e.get("share_errors", 0) for e in ev if e["event"] == "stats")
            ok = pa.returncode == 0 and pb.returncode == 0 and facts(ev) == want and not errs
            ok = ok and any(e.get("control_sensor") == "a" for e in events(ob))
            print("%s split over TLS: exit %d/%d, %d facts (want %d), share_errors %d" %
                  ("ok" if ok else "FAIL", pa.returncode, pb.returncode, len(facts(ev)),
                   len(want), errs))
            explain(ev, facts(ev), want, ok, ea, eb)
            fails += 0 if ok else 1
            # --events-to over TLS
            key = "ftpi-events-tls"
            p = subprocess.run([exe, "-r", cap, "--format", "json", "--events-to",
                                "rediss://localhost:%d/%s?%s" % (port, key, q)],
                               capture_output=True, text=True, timeout=60)
            raw = tls_cli(d, port, "XRANGE", key, "-", "+").splitlines()
            back = [raw[i + 2] for i in range(0, len(raw) - 2, 3) if raw[i + 1] == "event"]
            ok = p.returncode == 0 and back == p.stdout.splitlines() and len(back) > 3
            print("%s stream over TLS: %d lines, %d read back" %
                  ("ok" if ok else "FAIL", len(p.stdout.splitlines()), len(back)))
            fails += 0 if ok else 1
            # faults: the sensor goes on alone, and says why
            alone = subprocess.run([exe, "-r", ctl, "--format", "json", "-q"],
                                   capture_output=True, text=True, check=True)
            want_a = facts(events(alone.stdout))
            cli = "ssl_certfile=%s/cli.pem&ssl_keyfile=%s/cli.key" % (d, d)
            for name, u, why, errors in (
                    ("another CA", "rediss://localhost:%d/%d?ssl_ca_certs=%s/other.pem&%s" %
                     (port, db, d, cli), "TLS certificate of the server", True),
                    ("host not named", "rediss://127.0.0.1:%d/%d?%s" % (port, db, q),
                     "TLS certificate of the server", True),
                    ("host check off", "rediss://127.0.0.1:%d/%d?%s&ssl_check_hostname=false" %
                     (port, db, q), None, False),
                    ("no client certificate", "rediss://localhost:%d/%d?ssl_ca_certs=%s/ca.pem"
                     % (port, db, d), "", True)):
                p = subprocess.run([exe, "-r", ctl, "--share", u, "--sensor", "a",
                                    "--share-wait", "0"] + base, capture_output=True,
                                   text=True, timeout=60)
                ev = events(p.stdout)
                st = [e for e in ev if e["event"] == "stats"]
                n_err = st[0].get("share_errors", 0) if st else -1
                ok = p.returncode == 0 and (n_err > 0) == errors
                ok = ok and (facts(ev) == want_a if errors else True)
                ok = ok and (why is None or why in p.stderr) and "PASS" not in p.stderr
                warn = p.stderr.strip().splitlines()
                print("%s %s: exit %d, share_errors %d, %s" %
                      ("ok" if ok else "FAIL", name, p.returncode, n_err,
                       warn[0] if warn else "no warning"))
                fails += 0 if ok else 1
        finally:
            proc.terminate()
            proc.wait()
    return 1 if fails else 0


def private_redis(tmp, listen=lambda p: ["--port", str(p)], cli=lambda p, *a: rcli(p, 0, *a)):
    """A redis-server of this test's own on a free port of 6390-6399 (listen: its options for
    that port; cli: a redis-cli that reaches it). The one answering must be the one started
    here: another suite's server may hold the port (bound between our check and its start),
    and the test would then share it, or pause a process that has already gone."""
    for p in range(6399, 6389, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        proc = subprocess.Popen(["redis-server"] + listen(p) + [
                                 "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if proc.poll() is not None or "PONG" in cli(p, "PING"):
                break
            time.sleep(0.1)
        pid = re.search(r"process_id:(\d+)", cli(p, "INFO", "server"))
        if proc.poll() is None and pid and int(pid.group(1)) == proc.pid:
            return proc, p
        proc.kill()
        proc.wait()
    print("SKIP: no free port in 6390-6399 for a redis-server of the test's own")
    sys.exit(SKIP)


def pcap_records(path):
    with open(path, "rb") as f:
        data = f.read()
    hdr, off, recs = data[:24], 24, []
    le = data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    while off + 16 <= len(data):
        n = int.from_bytes(data[off + 8:off + 12], "little" if le else "big")
        recs.append(data[off:off + 16 + n])
        off += 16 + n
    return hdr, recs


def faults(exe, state, db, cap, extra=()):
    """extra: more options for every sensor run (faults_workers: --workers 2)."""
    port = fixture(state)
    whole = subprocess.run([exe, "-r", cap, "--format", "json", "-q"], capture_output=True,
                           text=True, check=True)
    want = facts(events(whole.stdout))
    fails = 0

    def check(name, proc_out, proc_err, rc, url_shown, secret=None, t=None):
        nonlocal fails
        evs = events(proc_out)
        st = [e for e in evs if e["event"] == "stats"]
        st = st[0] if st else {}
        warn = [l for l in proc_err.splitlines() if "warning" in l and "--share" in l]
        ok = (rc == 0 and facts(evs) == want and len(warn) == 1 and url_shown in warn[0]
              and st.get("share_errors", 0) > 0)
        if secret and (secret in proc_out or secret in proc_err):
            ok = False
            print("   the password was printed")
        print("%s %s: exit %d, facts %s, warnings %d, share_errors %s, pending_dropped %s%s" %
              ("ok" if ok else "FAIL", name, rc, "complete" if facts(evs) == want else "DIFFER",
               len(warn), st.get("share_errors"), st.get("share_pending_dropped"),
               " (%.1f s)" % t if t is not None else ""))
        for l in warn:
            print("   " + l)
        if not ok:
            fails += 1
            print(proc_err)

    base = ["-r", cap, "--format", "json", "-q", "--stats", "--share-wait", "1"] + list(extra)
    # nothing listens on port 1 of the loopback
    p = subprocess.run([exe, "--share", "redis://127.0.0.1:1/0"] + base, capture_output=True,
                       text=True, timeout=60)
    check("down", p.stdout, p.stderr, p.returncode, "redis://127.0.0.1:1/0")
    # the data sensor's half with Redis down: its lookups fail at once and are counted; it
    # reports what it reports alone
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, "dat.pcap")
        subprocess.run(["tcpdump", "-r", cap, "-w", dat, "not tcp port 21"], check=True,
                       capture_output=True)
        alone = subprocess.run([exe, "-r", dat, "--format", "json", "-q"], capture_output=True,
                               text=True, check=True)
        p = subprocess.run([exe, "-r", dat, "--share", "redis://127.0.0.1:1"] + base[2:],
                           capture_output=True, text=True, timeout=60)
        evs = events(p.stdout)
        st = [e for e in evs if e["event"] == "stats"][0]
        ok = (p.returncode == 0 and facts(evs) == facts(events(alone.stdout)) and
              st.get("share_pending_dropped", 0) > 0)
        print("%s down-data-half: exit %d, share_pending_dropped %s" %
              ("ok" if ok else "FAIL", p.returncode, st.get("share_pending_dropped")))
        fails += 0 if ok else 1
    # a wrong password (this Redis has none: AUTH fails)
    p = subprocess.run([exe, "--share", "redis://user:s3cretPW@127.0.0.1:%d/%d" % (port, db)]
                       + base, capture_output=True, text=True, timeout=60)
    check("wrong-password", p.stdout, p.stderr, p.returncode,
          "redis://user@127.0.0.1:%d/%d" % (port, db), secret="s3cretPW")
    with tempfile.TemporaryDirectory() as tmp:
        # paused: every call times out (io timeout), inspection goes on
        rs, rp = private_redis(tmp)
        try:
            os.kill(rs.pid, signal.SIGSTOP)
            t0 = time.time()
            p = subprocess.run([exe, "--share", "redis://127.0.0.1:%d" % rp] + base,
                               capture_output=True, text=True, timeout=120)
            check("sigstop", p.stdout, p.stderr, p.returncode, "redis://127.0.0.1:%d" % rp,
                  t=time.time() - t0)
        finally:
            os.kill(rs.pid, signal.SIGCONT)
            rs.terminate()
            rs.wait()
        # killed mid-run: the capture played 12 times, 400 s apart, so that packets are still
        # coming after Redis dies (with --workers the reader hands packets over in batches of
        # 256: nine copies make sure some were); Redis is killed once expectations are in it
        rs, rp = private_redis(tmp)
        hdr, recs = pcap_records(cap)
        copies = []
        for k in range(12):
            for r in recs:
                ts = int.from_bytes(r[0:4], "little") + 400 * k
                copies.append(ts.to_bytes(4, "little") + r[4:])
        long_cap = os.path.join(tmp, "long.pcap")
        with open(long_cap, "wb") as f:
            f.write(hdr + b"".join(copies))
        want_long = facts(events(subprocess.run(
            [exe, "-r", long_cap, "--format", "json", "-q"], capture_output=True, text=True,
            check=True).stdout))
        pr = subprocess.Popen([exe, "--share", "redis://127.0.0.1:%d" % rp, "-r", "-"] + base[2:],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        cut = 9 * len(recs)
        pr.stdin.write(hdr + b"".join(copies[:cut]))
        pr.stdin.flush()
        t0 = time.time()
        while time.time() - t0 < 5 and not rcli(rp, 0, "KEYS", "ftpi:*:exp:*").strip():
            time.sleep(0.05)
        published = rcli(rp, 0, "KEYS", "ftpi:*:exp:*").split()
        rs.kill()
        rs.wait()
        out, err = pr.communicate(input=b"".join(copies[cut:]), timeout=120)
        print("   (published before the kill: %d)" % len(published))
        if not published:
            print("FAIL killed: nothing was in Redis before the kill")
            fails += 1
        saved, want = want, want_long
        check("killed", out.decode(), err.decode(), pr.returncode, "redis://127.0.0.1:%d" % rp)
        want = saved
    return 1 if fails else 0


def stream(exe, state, db, cap):
    port = fixture(state)
    key = "ftpi-events-test-%d" % db
    rcli(port, db, "DEL", key)
    url = "redis://127.0.0.1:%d/%s" % (port, key)
    p = subprocess.run([exe, "-r", cap, "--format", "json", "-v", "--stats", "--events-to", url],
                       capture_output=True, text=True, timeout=60)
    lines = p.stdout.splitlines()
    # --raw XRANGE: id, field, value per entry
    raw = rcli(port, 0, "XRANGE", key, "-", "+").splitlines()
    back = [raw[i + 2] for i in range(0, len(raw) - 2, 3) if raw[i + 1] == "event"]
    ok = p.returncode == 0 and back == lines and len(lines) > 5
    for l in back:
        json.loads(l)
    print("%s stream: %d lines on stdout, %d entries read back with XRANGE, equal: %s" %
          ("ok" if ok else "FAIL", len(lines), len(back), back == lines))
    if not ok:
        print(p.stderr)
    # a consumer group reads them too
    rcli(port, 0, "XGROUP", "CREATE", key, "siem", "0")
    got = rcli(port, 0, "XREADGROUP", "GROUP", "siem", "c1", "COUNT", "1000", "STREAMS", key, ">")
    n = sum(1 for l in got.splitlines() if l.startswith("{"))
    print("%s consumer group: %d events" % ("ok" if n == len(lines) else "FAIL", n))
    rcli(port, 0, "DEL", key)
    return 0 if ok and n == len(lines) else 1


def solo(exe, state, db, capdir):
    """One sensor with the whole capture and --share reports what it reports alone (every lab
    capture; the port-2121 ones too: a control connection on a high port that is not FTP's is
    first looked up as a possible remote data connection, until its server's greeting)."""
    port = fixture(state)
    url = "redis://127.0.0.1:%d/%d" % (port, db)
    fails = n = 0
    for cap in sorted(os.listdir(capdir)):
        if not cap.endswith(".pcap"):
            continue
        path = os.path.join(capdir, cap)
        alone = subprocess.run([exe, "-r", path, "--format", "json", "-q"],
                               capture_output=True, text=True, timeout=60)
        rcli(port, db, "FLUSHDB")
        shared = subprocess.run([exe, "-r", path, "--format", "json", "-q", "--share", url,
                                 "--sensor", "solo", "--share-wait", "200ms"],
                                capture_output=True, text=True, timeout=60)
        n += 1
        if shared.returncode != alone.returncode or \
                facts(events(shared.stdout)) != facts(events(alone.stdout)):
            fails += 1
            print("FAIL %s" % cap)
    print("%s solo: %d captures, %d differ" % ("ok" if fails == 0 else "FAIL", n, fails))
    return 1 if fails else 0


def crc16(data):
    """CRC16-CCITT (XModem), what Redis Cluster hashes keys with."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    k = key.encode()
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    return crc16(k) % 16384


SINGLE_KEY = {"HSET", "HSETNX", "HGETALL", "HMGET", "EXPIRE", "SADD", "SREM", "SMEMBERS",
              "EXISTS", "DEL", "XADD"}


def slots(exe, state, db, caps):
    """Redis Cluster: every command the sensors send, and every script with the commands it
    runs, touches the keys of one hash slot (MONITOR during the split runs of the captures)."""
    if os.path.exists(os.path.join(state, "skip")):
        fixture(state)  # (skips, saying why)
    assert key_slot("123456789") == crc16(b"123456789") % 16384 and crc16(b"123456789") == 0x31C3
    fails = calls = scripts = 0
    with tempfile.TemporaryDirectory() as tmp:
        rs, rp = private_redis(tmp)
        mon_path = os.path.join(tmp, "monitor.txt")
        try:
            with open(mon_path, "w") as mf:
                mon = subprocess.Popen(["redis-cli", "-p", str(rp), "MONITOR"], stdout=mf)
                time.sleep(0.3)
                url = "redis://127.0.0.1:%d" % rp
                for cap in caps.split(","):
                    ctl, dat = os.path.join(tmp, "ctl.pcap"), os.path.join(tmp, "dat.pcap")
                    for out, flt in ((ctl, "tcp port 21"), (dat, "not tcp port 21")):
                        subprocess.run(["tcpdump", "-r", cap, "-w", out, flt], check=True,
                                       capture_output=True)
                    base = ["--format", "json", "-q", "--share-wait", "1", "--share", url]
                    pa = run(exe, ["-r", ctl, "--sensor", "a"] + base)
                    pb = run(exe, ["-r", dat, "--sensor", "b"] + base)
                    pa.communicate(timeout=60)
                    pb.communicate(timeout=60)
                time.sleep(0.3)
                mon.terminate()
                mon.wait()
        finally:
            rs.terminate()
            rs.wait()
        group = None  # (declared keys, keys the script's commands touched)

        def close(g):
            nonlocal fails, scripts
            if g is None:
                return
            scripts += 1
            sl = {key_slot(k) for k in g[0] + g[1]}
            if len(sl) > 1:
                fails += 1
                print("FAIL script over %d slots: declared %s, touched %s" %
                      (len(sl), g[0], sorted(set(g[1]))))
        for line in open(mon_path):
            m = re.match(r'^[\d.]+ \[(\d+) ([^\]]+)\] (.*)$', line.strip())
            if not m:
                continue
            args = [a.encode().decode("unicode_escape") for a in
                    re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(3))]
            if not args:
                continue
            cmd = args[0].upper()
            if m.group(2) == "lua":
                if group is not None and len(args) > 1:
                    group[1].append(args[1])
                continue
            close(group)
            group = None
            if cmd in ("EVAL", "EVALSHA"):
                n = int(args[2])
                group = (args[3:3 + n], [])
                calls += 1
            elif cmd in SINGLE_KEY:
                calls += 1
            elif cmd in ("AUTH", "SELECT", "PING", "SCRIPT", "MONITOR", "HELLO", "CLIENT",
                         "COMMAND", "FLUSHDB", "KEYS"):
                pass
            else:
                fails += 1
                print("FAIL: a command the test does not know the keys of:", args[:3])
        close(group)
    ok = fails == 0 and scripts > 0
    print("%s slots: %d calls, %d scripts, each on one hash slot" %
          ("ok" if ok else "FAIL", calls, scripts))
    return 0 if ok else 1


if __name__ == "__main__":
    cmd, exe, state, db, cap = sys.argv[1:6]
    sys.exit({"split": split, "faults": faults, "stream": stream, "solo": solo, "slots": slots,
              "tls": tls,
              "faults-workers": lambda *a: faults(*a, extra=("--workers", "2"))}[cmd](
                  exe, state, int(db), cap))
