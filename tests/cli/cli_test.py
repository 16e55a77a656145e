#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""CLI tests for ftpinspect: options, exit statuses, messages and every output format.

Usage: cli_test.py FTPINSPECT TEST    (one CTest test per TEST; see cli.cmake)
Exit 0 = pass, 1 = fail, 77 = skipped. Python 3 standard library only. The captures come from
tests/cli/data/make_pcaps.py. Checks that need the engine's findings say so in their message.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
LOGIN = os.path.join(DATA, "ftp_login.pcap")
ANON = os.path.join(DATA, "ftp_anon.pcap")
ANON_NG = os.path.join(DATA, "ftp_anon.pcapng")
TRUNC = os.path.join(DATA, "truncated.pcap")
HOSTILE = os.path.join(DATA, "ftp_hostile.pcap")
NOTPCAP = os.path.join(DATA, "not_a_pcap.pcap")
BIN = None
TESTS = {}


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def test(fn):
    TESTS[fn.__name__[2:]] = fn
    return fn


def run(*args, stdin=None, env=None):
    p = subprocess.run([BIN] + list(args), input=stdin, capture_output=True, env=env,
                       timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def expect_rc(rc, want, err, what):
    check(rc == want, "%s: exit status %d, want %d (stderr: %r)" % (what, rc, want, err))


def json_lines(out):
    objs = []
    for i, line in enumerate(out.splitlines()):
        try:
            o = json.loads(line)
        except ValueError as e:
            raise Fail("line %d is not JSON (%s): %r" % (i + 1, e, line))
        check(isinstance(o, dict), "line %d is not an object" % (i + 1))
        check(isinstance(o.get("event"), str), "line %d has no string 'event'" % (i + 1))
        check(isinstance(o.get("ts"), (int, float)) and not isinstance(o.get("ts"), bool),
              "line %d has no number 'ts'" % (i + 1))
        check(re.match(r'^\{"event":"[a-z_]+","ts":\d+\.\d{6}[,}]', line),
              "line %d: ts not first with 6 decimals: %r" % (i + 1, line[:60]))
        objs.append(o)
    return objs


def events(objs, name):
    return [o for o in objs if o["event"] == name]


ENGINE = " (needs the engine's FTP layer)"

HELP_WORDS = ["-r", "-i", "-s", "-B", "-c", "-G", "--duration", "-Z", "--allow-root",
              "--format", "text", "json", "zeek", "-v", "--flows", "--stats", "-w", "--summary",
              "--config", "--passive-range", "--allow-client", "--allow-server", "--brute-force",
              "--show-passwords", "--ca-file", "--server-name", "--ctrl-port", "--no-ndpi",
              "--verify-checksums", "--fail-on", "--color", "--no-progress", "-h", "--help",
              "-V", "--version", "filter", "--read", "--interface", "--snaplen", "--buffer-size",
              "--count", "--user", "--verbose", "--write", "-n", "-D", "--list-interfaces",
              "-l", "-U", "-q", "--quiet", "--immediate", "--immediate-mode", "NO_COLOR",
              "SIGHUP", "--log-dir", "--zeek-commands", "--report", "--file-hashes"]


@test
def t_help():
    rc, out, err = run("--help")
    expect_rc(rc, 0, err, "--help")
    for w in HELP_WORDS:
        check(re.search(r"(^|[\s,\[|])" + re.escape(w) + r"($|[\s,=|\]])", out, re.M),
              "--help does not mention %s" % w)
    rc, out, err = run("-h")
    expect_rc(rc, 0, err, "-h")
    man = open(os.path.join(HERE, "..", "..", "tools", "ftpinspect", "ftpinspect.1")).read()
    man = man.replace("\\-", "-")
    for w in HELP_WORDS:
        check(w in man, "the man page does not mention %s" % w)


@test
def t_version():
    rc, out, err = run("--version")
    expect_rc(rc, 0, err, "--version")
    check(re.match(r"ftpinspect \d+\.\d+\.\d+", out), "version output: %r" % out)
    rc, out, err = run("-V")
    expect_rc(rc, 0, err, "-V")


@test
def t_missing_file():
    rc, out, err = run("-r", "/nonexistent/ftpi.pcap")
    expect_rc(rc, 2, err, "missing file")
    check("/nonexistent/ftpi.pcap" in err, "message does not name the file: %r" % err)
    check(out == "", "output on a missing file: %r" % out)


@test
def t_bad_files():
    """Every file option that cannot be read or holds nothing is a usage error naming the path:
    a CA file without a certificate would silently turn every certificate finding off."""
    d = tempfile.mkdtemp(prefix="ftpi-files-")
    try:
        empty = os.path.join(d, "empty")
        open(empty, "w").close()
        comments = os.path.join(d, "comments.conf")
        with open(comments, "w") as f:
            f.write("# nothing set\n\n")
        ca = os.path.join(os.path.dirname(DATA), "..", "data", "tls", "ca.pem")
        cadir = os.path.dirname(ca)
        cases = [(["--ca-file", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
                 (["--ca-file", empty], empty),
                 (["--ca-file", LOGIN], LOGIN),
                 (["--ca-file", d], d),
                 (["--ca-dir", "/nonexistent/cadir"], "/nonexistent/cadir"),
                 (["--ca-dir", d], d),
                 (["--ca-dir", empty], empty),
                 (["--config", empty], empty),
                 (["--config", comments], comments)]
        for args, path in cases:
            rc, out, err = run("-r", LOGIN, "--fail-on", "high", *args)
            expect_rc(rc, 2, err, " ".join(args))
            check(path in err, "%s: message does not name the path: %r" % (args, err))
            check(out == "", "%s: output before the usage error: %r" % (args, out))
        rc, out, err = run("-r", empty)
        expect_rc(rc, 2, err, "-r empty file")
        check(empty in err, "message does not name the file: %r" % err)
        for args in (["--ca-file", ca], ["--ca-dir", cadir]):
            rc, out, err = run("-r", LOGIN, "--format", "json", *args)
            expect_rc(rc, 0, err, " ".join(args))
    finally:
        shutil.rmtree(d)


@test
def t_limits():
    """The line, pending-command and per-session limits are options (flags and config keys),
    checked against their ranges; an overlong line's anomaly names its length and the limit."""
    long_pcap = os.path.join(os.path.dirname(DATA), "..", "crafted", "tcp_overlong_line.pcap.gz")
    rc, out, err = run("-r", long_pcap, "--format", "json", "-v", "--max-line-length", "64")
    expect_rc(rc, 0, err, "--max-line-length 64")
    an = [o for o in json_lines(out) if o.get("event") == "anomaly"
          and o.get("kind") == "overlong_command"]
    check(len(an) == 1 and "16777221 bytes" in an[0]["detail"] and "(64)" in an[0]["detail"],
          "overlong_command does not name the length and the limit: %r" % an)
    rc, out, err = run("-r", LOGIN, "--format", "json", "--max-user-length", "3",
                       "--max-reply-length", "16", "--max-arg-length", "8",
                       "--max-pending-commands", "2")
    expect_rc(rc, 0, err, "limits")
    sess = events(json_lines(out), "session")
    check(sess and all(len(s["user"]) <= 3 for s in sess if s.get("user")),
          "user not cut at --max-user-length 3: %r" % sess)
    for flag, bad in (("--max-line-length", "63"), ("--max-pending-commands", "0"),
                      ("--max-pending-commands", "257"), ("--max-user-length", "129"),
                      ("--max-arg-length", "x"), ("--max-reply-length", "15"),
                      ("--max-flows", "1023"), ("--max-sessions", "0"),
                      ("--max-expectations", "16777217"), ("--mem-cap", "15")):
        rc, out, err = run("-r", LOGIN, flag, bad)
        expect_rc(rc, 2, err, flag + " " + bad)
        check(flag in err and bad in err, "message does not name %s %s: %r" % (flag, bad, err))
    d = tempfile.mkdtemp(prefix="ftpi-limits-")
    try:
        conf = os.path.join(d, "limits.conf")
        with open(conf, "w") as f:
            f.write("max-user-length = 2\n")
        rc, out, err = run("-r", LOGIN, "--format", "json", "--config", conf)
        expect_rc(rc, 0, err, "config max-user-length")
        sess = events(json_lines(out), "session")
        check(sess and all(len(s["user"]) <= 2 for s in sess if s.get("user")),
              "config max-user-length not applied: %r" % sess)
        # the capacities: one session at a time (the second is refused and counted), from a
        # flag and from the config file; caps that cannot fit in the memory cap: exit 1, said
        with open(conf, "w") as f:
            f.write("max-sessions = 1\nmax-flows = 2048\nmax-expectations = 4\n"
                    "mem-cap = 64\n")
        two = os.path.join(os.path.dirname(DATA), "..", "..", "captures",
                           "vsftpd_concurrent_sessions.pcap")
        for how in (["--max-sessions", "1"], ["--config", conf]):
            rc, out, err = run("-r", two, "--format", "json", "--stats", *how)
            expect_rc(rc, 0, err, "capacities " + " ".join(how))
            st = events(json_lines(out), "stats")
            check(st and st[-1]["sessions_created"] + st[-1]["sessions_memcap"] >= 2
                  and st[-1]["sessions_memcap"] + st[-1]["sessions_evicted"] >= 1,
                  "max-sessions 1 not applied (%s): %r" % (how, st))
        rc, out, err = run("-r", two, "--max-flows", "16777216", "--mem-cap", "16")
        expect_rc(rc, 1, err, "caps over the memory cap")
        check("--mem-cap" in err, "the error does not name --mem-cap: %r" % err)
    finally:
        shutil.rmtree(d)


@test
def t_not_a_pcap():
    rc, out, err = run("-r", NOTPCAP)
    expect_rc(rc, 1, err, "not a pcap")
    check(NOTPCAP in err, "message does not name the file: %r" % err)


@test
def t_truncated():
    # A file that ends inside a record (cut short, or still being written): read to its last
    # whole packet, a note (not an error), exit 0.
    rc, out, err = run("-r", TRUNC, "--format", "json")
    expect_rc(rc, 0, err, "truncated pcap")
    check(TRUNC in err and "note:" in err and "ends inside a packet record" in err,
          "no note naming the file: %r" % err)
    check("error" not in err, "an error on a truncated last record: %r" % err)
    objs = json_lines(out)
    check(events(objs, "session"), "nothing read before the cut" + ENGINE)
    rc, out, err = run("-r", TRUNC, "--format", "json", "--stats")
    check("1 input(s) ended inside a packet record" in err, "the note is not counted: %r" % err)


@test
def t_unknown_interface():
    rc, out, err = run("-i", "ftpi-nosuch0", "--allow-root")
    expect_rc(rc, 1, err, "unknown interface")
    check("ftpi-nosuch0" in err, "message does not name the interface: %r" % err)


@test
def t_live_root_refused():
    if os.geteuid() != 0:
        return
    rc, out, err = run("-i", "lo")
    expect_rc(rc, 2, err, "live as root without -Z/--allow-root")
    check("-Z" in err and "--allow-root" in err, "message does not explain: %r" % err)


@test
def t_bad_filter():
    rc, out, err = run("-r", LOGIN, "tcp", "port", "and")
    expect_rc(rc, 2, err, "bad filter")
    check("filter" in err and "tcp port and" in err, "message does not name the filter: %r" % err)


@test
def t_bad_flag():
    for args, word in ((["--bogus", "-r", LOGIN], "--bogus"), (["-Q", "-r", LOGIN], "-Q"),
                       (["-r"], "-r"), (["-r", LOGIN, "--format", "xml"], "xml"),
                       (["-r", LOGIN, "-c", "12x"], "12x"), (["-r", LOGIN, "-s", "-1"], "-1"),
                       (["-r", LOGIN, "--color", "pink"], "pink"),
                       (["-r", LOGIN, "--fail-on", "severe"], "severe"),
                       (["-r", LOGIN, "--brute-force", "5"], "5"),
                       (["-r", LOGIN, "--allow-client", "10.0.0.0/33"], "10.0.0.0/33"),
                       (["-r", LOGIN, "--ctrl-port", "70000"], "70000"),
                       (["-r", LOGIN, "-Z", "ftpi-no-such-user"], "ftpi-no-such-user"),
                       (["-r", LOGIN, "-i", "lo"], "-i"), ([], "-r")):
        rc, out, err = run(*args)
        expect_rc(rc, 2, err, " ".join(args))
        check(word in err, "%s: message does not name %r: %r" % (" ".join(args), word, err))


@test
def t_bad_passive_range():
    for bad in ("50100-50000", "0-10", "abc", "50000", "50000-", "-5", "1-70000", "1 - 2",
                "99999999999999999999-1"):
        rc, out, err = run("-r", LOGIN, "--passive-range", bad)
        expect_rc(rc, 2, err, "--passive-range " + bad)
        check("--passive-range" in err and bad in err, "message: %r" % err)
    rc, out, err = run("-r", LOGIN, "--passive-range", "50000-50100", "--format", "json")
    expect_rc(rc, 0, err, "--passive-range 50000-50100")


def write_tmp(text):
    fd, path = tempfile.mkstemp(prefix="ftpi-cli-", suffix=".conf")
    os.write(fd, text.encode())
    os.close(fd)
    return path


@test
def t_bad_config():
    cases = [("passive-range = 1-2\nbogus-key = 1\n", ":2:", "bogus-key"),
             ("# c\n\npassive-range = 9-1\n", ":3:", "passive-range"),
             ("allow-client = 10.0.0.0/8\nallow-client 10.0.0.0/8\n", ":2:", "key = value"),
             ("brute-force = five/300\n", ":1:", "brute-force"),
             ("show-passwords = maybe\n", ":1:", "show-passwords"),
             ("fail-on =\n", ":1:", "fail-on")]
    for text, where, word in cases:
        path = write_tmp(text)
        try:
            rc, out, err = run("-r", LOGIN, "--config", path)
            expect_rc(rc, 2, err, "config %r" % text)
            check(path + where in err, "message does not name file:line %r: %r" % (where, err))
            check(word in err, "message does not name %r: %r" % (word, err))
        finally:
            os.unlink(path)
    rc, out, err = run("-r", LOGIN, "--config", "/nonexistent/ftpi.conf")
    expect_rc(rc, 2, err, "missing config file")
    check("/nonexistent/ftpi.conf" in err, "message: %r" % err)


@test
def t_config():
    path = write_tmp("# policy\npassive-range = 50000-50100  # agreed\n"
                     "allow-client = 192.0.2.0/24\nshow-passwords = no\nfail-on = info\n"
                     "brute-force = 3/60\nctrl-port = 2121\n")
    try:
        rc, out, err = run("-r", LOGIN, "--config", path, "--format", "json")
        check(rc in (0, 3), "exit %d: %r" % (rc, err))
        objs = json_lines(out)
        kinds = [o["kind"] for o in events(objs, "finding")]
        check("host_not_allowed" in kinds, "config allow-client not applied" + ENGINE)
        expect_rc(rc, 3, err, "config fail-on = info" + ENGINE)
        # Flags override the file (for lists, the whole list).
        rc, out, err = run("-r", LOGIN, "--config", path, "--format", "json",
                           "--allow-client", "10.0.0.0/8")
        kinds = [o["kind"] for o in events(json_lines(out), "finding")]
        check("host_not_allowed" not in kinds, "--allow-client did not override the file")
    finally:
        os.unlink(path)


@test
def t_json():
    rc, out, err = run("-r", LOGIN, "--format", "json")
    expect_rc(rc, 0, err, "json")
    objs = json_lines(out)
    sessions = events(objs, "session")
    check(len(sessions) == 1, "want 1 session event, got %d%s" % (len(sessions), ENGINE))
    s = sessions[0]
    want = ["event", "ts", "session", "client", "server", "start", "end", "user", "login", "tls",
            "prot", "commands", "data_connections", "findings", "incomplete", "tls_version",
            "tls_cipher", "tls_sni", "cert_subject", "cert_issuer", "cert_not_after"]
    for k in want:
        check(k in s, "session event lacks %r: %r" % (k, s))
    check(s["client"] == {"ip": "10.0.0.2", "port": 40312}, "client: %r" % s["client"])
    check(s["server"] == {"ip": "10.0.0.1", "port": 21}, "server: %r" % s["server"])
    check(s["user"] == "alice" and s["login"] == "success", "user/login: %r" % s)
    check(s["tls"] == "none" and s["prot"] is None and s["tls_version"] is None, "tls: %r" % s)
    check(isinstance(s["findings"], list) and "plaintext_auth" in s["findings"],
          "findings: %r" % s["findings"])
    check(len(set(s["findings"])) == len(s["findings"]), "findings not unique")
    check(isinstance(s["incomplete"], bool), "incomplete not a boolean")
    fs = [o for o in events(objs, "finding") if o["kind"] == "plaintext_auth"]
    check(len(fs) == 1, "want 1 plaintext_auth finding, got %d" % len(fs))
    f = fs[0]
    for k in ("kind", "severity", "session", "client", "server", "message", "evidence", "frame"):
        check(k in f, "finding lacks %r" % k)
    check(f["severity"] == "high" and f["session"] == s["session"], "finding: %r" % f)
    check("s3cret" not in out, "the password leaked into the output")
    data = events(objs, "data")
    check(len(data) == 1, "want 1 data event, got %d" % len(data))
    d = data[0]
    for k in ("session", "link", "client", "server", "announced_by", "mode", "command", "file",
              "bytes_to_server", "bytes_to_client", "tls", "status", "start", "end",
              "used_address"):
        check(k in d, "data event lacks %r" % k)
    check(d["mode"] == "passive" and d["announced_by"] == "PASV" and d["command"] == "RETR"
          and d["file"] == "hello.txt" and d["used_address"] is None and d["tls"] is False,
          "data event: %r" % d)
    check(d["server"] == {"ip": "10.0.0.1", "port": 50001}, "data server: %r" % d["server"])


@test
def t_verbose():
    rc, out, err = run("-r", LOGIN, "--format", "json")
    objs = json_lines(out)
    for name in ("command", "reply", "expect", "anomaly"):
        check(not events(objs, name), "%s events without -v" % name)
    rc, out, err = run("-r", LOGIN, "--format", "json", "-v")
    expect_rc(rc, 0, err, "-v")
    objs = json_lines(out)
    cmds = events(objs, "command")
    check(any(c["verb"] == "USER" and c["arg"] == "alice" for c in cmds),
          "no USER command with -v" + ENGINE)
    check(any(c["verb"] == "PASS" and c["arg"] == "***" for c in cmds), "PASS not redacted")
    check("s3cret" not in out, "the password leaked")
    check(any(r["code"] == 230 for r in events(objs, "reply")), "no 230 reply with -v")
    ex = events(objs, "expect")
    check(any(e["port"] == 50001 and e["mode"] == "passive" for e in ex), "no expect: %r" % ex)
    rc, out, err = run("-r", LOGIN, "--format", "json", "-v", "--show-passwords")
    check("s3cret" in out, "--show-passwords did not show the password")


@test
def t_text():
    rc, out, err = run("-r", LOGIN)
    expect_rc(rc, 0, err, "text")
    check("\033[" not in out, "colour escapes when stdout is not a terminal")
    check("SESSION" in out and "plaintext_auth" in out, "text output: %r%s" % (out, ENGINE))
    lines = out.splitlines()
    i = [n for n, l in enumerate(lines) if "SESSION" in l][0]
    check(i + 1 < len(lines) and lines[i + 1].startswith("    data passive"),
          "data connection not indented under its session: %r" % lines)
    rc, out, err = run("-r", LOGIN, "--color", "always")
    check("\033[" in out, "--color always gave no colour")
    rc, out, err = run("-r", LOGIN, "--color", "never")
    check("\033[" not in out, "--color never gave colour")


@test
def t_hostile():
    """Control bytes, escapes and invalid UTF-8 from the wire never reach the output raw."""
    for fmt in ("text", "json", "zeek"):
        p = subprocess.run([BIN, "-r", HOSTILE, "-v", "--format", fmt, "--color", "never"],
                           capture_output=True, timeout=60)
        check(p.returncode == 0, "%s: exit %d %r" % (fmt, p.returncode, p.stderr))
        out = p.stdout
        bad = [b for b in set(out) if (b < 0x20 and b not in (0x09, 0x0a)) or b >= 0x7f]
        check(not bad, "%s output has raw bytes %r" % (fmt, sorted(bad)))
        if fmt == "text":
            check(b"\\x1b[31m" in out, "the escape sequence was not shown escaped")
            check(b"\t" not in out, "a tab reached the text output")
        if fmt == "json":
            objs = json_lines(out.decode("ascii"))
            s = events(objs, "session")
            check(s and s[0]["user"] == "ev\\x1b[31mil\\x09user\\x5c\\xc3(",
                  "escaped user: %r" % (s and s[0]["user"]))
    # --log-dir: ftp.log and notice.log, every column free of raw bytes and separators.
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        p = subprocess.run([BIN, "-r", HOSTILE, "-q", "--log-dir", d], capture_output=True,
                           timeout=60)
        check(p.returncode == 0, "--log-dir: exit %d %r" % (p.returncode, p.stderr))
        for name in ("ftp.log", "notice.log"):
            with open(os.path.join(d, name), "rb") as f:
                out = f.read()
            bad = [b for b in set(out) if (b < 0x20 and b not in (0x09, 0x0a)) or b >= 0x7f]
            check(not bad, "%s has raw bytes %r" % (name, sorted(bad)))
            read_zeek(os.path.join(d, name))  # every row has as many columns as #fields
    finally:
        shutil.rmtree(d)


@test
def t_zeek():
    rc, out, err = run("-r", LOGIN, "-r", ANON, "--format", "zeek")
    expect_rc(rc, 0, err, "zeek")
    lines = out.splitlines()
    check(lines[0] == "#separator \\x09", "first line: %r" % lines[0])
    hdr = {}
    rows = []
    for l in lines:
        if l.startswith("#"):
            parts = l.split("\t")
            hdr[parts[0]] = parts[1:]
        else:
            rows.append(l.split("\t"))
    for k in ("#set_separator", "#empty_field", "#unset_field", "#path", "#open", "#fields",
              "#types", "#close"):
        check(k in hdr, "missing header %s" % k)
    check(hdr["#path"] == ["ftp"] and hdr["#unset_field"] == ["-"], "header: %r" % hdr)
    fields, types = hdr["#fields"], hdr["#types"]
    check(fields[:6] == ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"],
          "fields: %r" % fields)
    check(len(fields) == len(types) == 19, "fields/types: %d/%d" % (len(fields), len(types)))
    check(lines[-1].startswith("#close"), "last line is not #close")
    for r in rows:
        check(len(r) == len(fields), "row has %d columns, want %d: %r" % (len(r), len(fields), r))
        for v, t, f in zip(r, types, fields):
            if v == "-":
                continue
            if t == "time":
                check(re.match(r"^\d+\.\d{6}$", v), "%s: bad time %r" % (f, v))
            elif t in ("port", "count"):
                check(v.isdigit(), "%s: bad %s %r" % (f, t, v))
            elif t == "addr":
                check(re.match(r"^[0-9a-fA-F.:]+$", v), "%s: bad addr %r" % (f, v))
            elif t == "bool":
                check(v in ("T", "F"), "%s: bad bool %r" % (f, v))
            check("\t" not in v and "\n" not in v, "separator inside a field")
    byname = [dict(zip(fields, r)) for r in rows]
    retr = [r for r in byname if r["command"] == "RETR"]
    check(retr, "no RETR row" + ENGINE)
    check(retr[0]["user"] == "alice" and retr[0]["reply_code"] == "226"
          and retr[0]["arg"] == "ftp://10.0.0.1/./hello.txt" and retr[0]["password"] == "<hidden>",
          "RETR row: %r" % retr[0])
    check(retr[0]["file_size"] == "12", "file_size: %r" % retr[0]["file_size"])
    pasv = [r for r in byname if r["command"] == "PASV"]
    check(pasv and pasv[0]["data_channel.passive"] == "T"
          and pasv[0]["data_channel.resp_p"] == "50001", "PASV row: %r" % pasv)
    check(any(r["command"] == "EPSV" and r["id.orig_h"] == "10.0.0.3" for r in byname),
          "no EPSV row of the second file")
    uids = {r["uid"] for r in byname}
    check(len(uids) == 2 and all(re.match(r"^C[0-9A-Za-z]+$", u) for u in uids), "uids %r" % uids)


def option_comments(data, o, end):
    """The opt_comment values of little-endian pcapng options from o to end."""
    comments = []
    while o < end:
        code, ln = struct.unpack_from("<HH", data, o)
        if code == 0:
            break
        if code == 1:
            comments.append(data[o + 4:o + 4 + ln].decode())
        o += 4 + ((ln + 3) & ~3)
    return comments


def read_pcapng_comments(path):
    """Minimal pcapng reader: returns [(packet number, [comments])]."""
    data = open(path, "rb").read()
    off, n, out = 0, 0, []
    check(len(data) >= 28 and struct.unpack_from("<I", data, 0)[0] == 0x0A0D0D0A,
          "not a pcapng file")
    check(struct.unpack_from("<I", data, 8)[0] == 0x1A2B3C4D, "not little-endian pcapng")
    while off < len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        check(blen >= 12 and blen % 4 == 0 and off + blen <= len(data), "bad block at %d" % off)
        check(struct.unpack_from("<I", data, off + blen - 4)[0] == blen, "bad trailing length")
        if btype == 6:
            n += 1
            caplen = struct.unpack_from("<I", data, off + 20)[0]
            o = off + 28 + ((caplen + 3) & ~3)
            out.append((n, option_comments(data, o, off + blen - 4)))
        off += blen
    return out


@test
def t_pcapng_out():
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        outp = os.path.join(d, "out.pcapng")
        rc, out, err = run("-r", LOGIN, "-w", outp, "--format", "json")
        expect_rc(rc, 0, err, "-w")
        pkts = read_pcapng_comments(outp)
        check(len(pkts) == 38, "want 38 packets written, got %d" % len(pkts))
        finding = [o for o in json_lines(out) if o["event"] == "finding"
                   and o["kind"] == "plaintext_auth"]
        annotated = [(n, c) for n, c in pkts for x in c if "plaintext_auth" in x]
        check(annotated, "no packet comment with plaintext_auth" + ENGINE)
        check(finding and annotated[0][0] == finding[0]["frame"],
              "comment on frame %d, finding frame %r" % (annotated[0][0], finding))
        check(any("data connection announced" in x for _, c in pkts for x in c),
              "no 'data connection announced' comment")
        opened = [n for n, c in pkts for x in c if "data connection opened" in x]
        check(opened == [18], "'data connection opened' on frames %r, want [18]" % opened)
        if shutil.which("tshark"):
            p = subprocess.run(["tshark", "-r", outp, "-Y",
                                'frame.comment contains "plaintext_auth"', "-T", "fields",
                                "-e", "frame.number"], capture_output=True, timeout=120)
            got = p.stdout.decode().split()
            check(got == [str(annotated[0][0])], "tshark found %r (stderr %r)" % (got, p.stderr))
            p = subprocess.run(["tshark", "-r", outp], capture_output=True, timeout=120)
            check(p.returncode == 0 and len(p.stdout.decode().splitlines()) == 38,
                  "tshark cannot read the file: %r" % p.stderr)
        rc, out, err = run("-r", LOGIN, "-w", os.path.join(d, "no", "such", "dir.pcapng"))
        expect_rc(rc, 2, err, "-w into a missing directory")
    finally:
        shutil.rmtree(d)


def read_pcap_records(path):
    """Classic pcap: (linktype, [(ts_sec, ts_usec, wirelen, data)])."""
    data = open(path, "rb").read()
    magic = struct.unpack_from("<I", data, 0)[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack_from(e + "I", data, 20)[0]
    off, recs = 24, []
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack_from(e + "IIII", data, off)
        recs.append((sec, usec, wirelen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return linktype & 0xffff, recs


def pcapng_options(e, opts):
    body = b""
    for code, value in opts:
        body += struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)
    return body + struct.pack(e + "HH", 0, 0) if opts else b""


def pcapng_block(e, btype, body):
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def write_pcapng_with_comments(src, dst, section_comment, comments):
    """A big-endian pcapng copy of a classic pcap, with comments {packet number: [texts]}."""
    e = ">"
    linktype, recs = read_pcap_records(src)
    out = pcapng_block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) +
                       pcapng_options(e, [(1, section_comment.encode())]))
    out += pcapng_block(e, 1, struct.pack(e + "HHI", linktype, 0, 0))
    for n, (sec, usec, wirelen, data) in enumerate(recs, 1):
        ts = sec * 1000000 + usec
        body = struct.pack(e + "IIIII", 0, ts >> 32, ts & 0xffffffff, len(data), wirelen)
        body += data + b"\0" * (-len(data) % 4)
        body += pcapng_options(e, [(1, c.encode()) for c in comments.get(n, [])])
        out += pcapng_block(e, 6, body)
    with open(dst, "wb") as f:
        f.write(out)
    return len(recs)


def read_shb_comments(path):
    data = open(path, "rb").read()
    return option_comments(data, 24, struct.unpack_from("<I", data, 4)[0] - 4)


@test
def t_pcapng_keep_comments():
    """-w keeps the comments of an input pcapng (section and packets) and adds its own after
    them, also when a BPF filter skips packets and when the input is big-endian."""
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        rc, out, err = run("-r", LOGIN, "--format", "json")
        frame = [o["frame"] for o in json_lines(out) if o["event"] == "finding"
                 and o["kind"] == "plaintext_auth"]
        check(frame, "no plaintext_auth in %s" % LOGIN + ENGINE)
        inp = os.path.join(d, "in.pcapng")
        notes = {1: ["first packet, noted by an analyst"], frame[0]: ["note A", "note B"]}
        n = write_pcapng_with_comments(LOGIN, inp, "section: reviewed 2024-05-01", notes)
        outp = os.path.join(d, "out.pcapng")
        rc, out, err = run("-r", inp, "-w", outp)
        expect_rc(rc, 0, err, "-w from a pcapng")
        pkts = read_pcapng_comments(outp)
        check(len(pkts) == n, "%d packets written of %d" % (len(pkts), n))
        check(pkts[0][1] == notes[1], "packet 1 comments %r" % (pkts[0][1],))
        c = pkts[frame[0] - 1][1]
        check(c[:2] == ["note A", "note B"] and len(c) == 3 and "plaintext_auth" in c[2],
              "frame %d comments %r: want the input's two, then ours" % (frame[0], c))
        check(read_shb_comments(outp) == ["section: reviewed 2024-05-01"],
              "section comments %r" % read_shb_comments(outp))
        # A filter that drops packets: the kept ones keep their own comments.
        outp2 = os.path.join(d, "out2.pcapng")
        rc, out, err = run("-r", inp, "-w", outp2, "tcp port 21")
        expect_rc(rc, 0, err, "-w with a filter")
        pkts2 = read_pcapng_comments(outp2)
        kept = [c for _, c in pkts2 if "note A" in c]
        check(len(pkts2) < n and kept == [["note A", "note B"] + kept[0][2:]] and
              any("plaintext_auth" in x for x in kept[0]),
              "filtered: %r" % [c for _, c in pkts2 if c])
        if shutil.which("tshark"):
            p = subprocess.run(["tshark", "-r", outp, "-Y", 'frame.comment == "note B"', "-T",
                                "fields", "-e", "frame.number"], capture_output=True, timeout=120)
            check(p.stdout.decode().split() == [str(frame[0])],
                  "tshark: %r %r" % (p.stdout, p.stderr))
    finally:
        shutil.rmtree(d)


@test
def t_fail_on():
    rc, out, err = run("-r", LOGIN, "--fail-on", "high", "--format", "json")
    expect_rc(rc, 3, err, "--fail-on high with plaintext_auth" + ENGINE)
    rc, out, err = run("-r", LOGIN, "--fail-on", "info", "--format", "json", "port", "9999")
    expect_rc(rc, 0, err, "--fail-on info with nothing read")
    rc, out, err = run("-r", LOGIN, "-r", NOTPCAP, "--fail-on", "info")
    expect_rc(rc, 1, err, "runtime error wins over --fail-on")


@test
def t_stdin():
    ref = run("-r", LOGIN, "--format", "json")
    data = open(LOGIN, "rb").read()
    p = subprocess.run([BIN, "-r", "-", "--format", "json"], input=data, capture_output=True,
                       timeout=60)
    check(p.returncode == 0, "stdin: exit %d %r" % (p.returncode, p.stderr))
    check(p.stdout.decode() == ref[1], "stdin output differs from the file's")
    rc, out, err = run("-r", "-", "-r", "-")
    expect_rc(rc, 2, err, "stdin twice")


@test
def t_gzip():
    import gzip
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        gz = os.path.join(d, "login.pcap.gz")
        with gzip.open(gz, "wb") as f:
            f.write(open(LOGIN, "rb").read())
        ref = run("-r", LOGIN, "--format", "json")[1]
        rc, out, err = run("-r", gz, "--format", "json")
        if rc == 1 and "unknown file format" in err:
            return  # built without zlib
        expect_rc(rc, 0, err, "gzip-compressed pcap")
        check(out == ref, "gzip input differs from the plain file's")
        raw = open(gz, "rb").read()
        cut = os.path.join(d, "cut.pcap.gz")
        open(cut, "wb").write(raw[:len(raw) * 2 // 3])
        rc, out, err = run("-r", cut, "--format", "json")
        expect_rc(rc, 0, err, "truncated gzip-compressed pcap (read to its last whole packet)")
        check(cut in err and "note:" in err, "no note naming the file: %r" % err)
        json_lines(out)
    finally:
        shutil.rmtree(d)


@test
def t_multiple_files():
    rc, out, err = run("-r", LOGIN, "-r", ANON, "--format", "json")
    expect_rc(rc, 0, err, "two files")
    objs = json_lines(out)
    ts = [o["ts"] for o in objs if o["event"] in ("finding", "session", "data")]
    check(ts == sorted(ts), "events out of order")
    s = events(objs, "session")
    check([x["client"]["ip"] for x in s] == ["10.0.0.2", "10.0.0.3"],
          "sessions not in file order: %r%s" % ([x["client"] for x in s], ENGINE))
    check([x["session"] for x in s] == [1, 2], "session ids: %r" % [x["session"] for x in s])
    frames = [o["frame"] for o in events(objs, "finding")]
    check(max(frames) > 38, "frame numbers do not count over all input: %r" % frames)
    # pcapng input gives the same events as the pcap.
    a = run("-r", ANON, "--format", "json")[1]
    b = run("-r", ANON_NG, "--format", "json")[1]
    check(a == b and a, "pcapng input differs from pcap input")


@test
def t_summary():
    rc, out, err = run("-r", LOGIN, "-r", ANON, "--format", "json", "--summary")
    expect_rc(rc, 0, err, "--summary json")
    objs = json_lines(out)
    sums = events(objs, "summary")
    check(len(sums) == 1 and objs[-1]["event"] == "summary", "want one summary line, last")
    servers = sums[0]["servers"]
    check(len(servers) == 1 and servers[0]["server"] == {"ip": "10.0.0.1", "port": 21},
          "servers: %r%s" % (servers, ENGINE))
    rows = {r["check"]: r for r in servers[0]["rows"]}
    for k in ("sessions", "login", "prot", "data_mode", "passive_ports", "nat",
              "address_mismatch", "allow_list"):
        check(k in rows, "summary lacks row %s" % k)
        check(isinstance(rows[k]["evidence"], int) and rows[k]["recommendation"],
              "row %s: %r" % (k, rows[k]))
    check(rows["sessions"]["evidence"] == 2, "sessions row: %r" % rows["sessions"])
    check(rows["login"]["status"] == "warn", "clear-text login not flagged")
    check("allow tcp from" in rows["passive_ports"]["recommendation"]
          and "50001-50002" in rows["passive_ports"]["recommendation"],
          "passive rule: %r" % rows["passive_ports"])
    rc, out, err = run("-r", LOGIN, "--summary")
    check("Summary per server" in out and "allow tcp from" in out, "text summary: %r" % out)


@test
def t_stats_flows_count():
    rc, out, err = run("-r", LOGIN, "--format", "json", "--stats", "--flows")
    expect_rc(rc, 0, err, "--stats --flows")
    objs = json_lines(out)
    st = events(objs, "stats")
    check(len(st) == 1, "want one stats object")
    for k in ("packets", "bytes", "flows_created", "sessions_created", "findings",
              "findings_by_kind", "mem_high_water"):
        check(k in st[0], "stats lacks %r" % k)
    check(st[0]["packets"] == 38, "packets counter %r" % st[0]["packets"])
    check(len(events(objs, "flow")) == 2, "want 2 flow events" + ENGINE)
    rc, out, err = run("-r", LOGIN, "--format", "json", "--stats", "-c", "5")
    st = events(json_lines(out), "stats")
    check(st and st[0]["packets"] == 5, "-c 5: packets %r" % (st and st[0]["packets"]))
    rc, out, err = run("-r", LOGIN, "--stats")
    check("statistics:" in out and "packets" in out, "text stats: %r" % out)


@test
def t_workers_auto():
    """--workers auto follows the CPU affinity mask (taskset): on one core, one engine, and the
    events are one engine's; in a config file too; a number given after it wins."""
    ref = run("-r", LOGIN, "--format", "json")[1]
    taskset = shutil.which("taskset")
    if taskset is None:
        print("skip: no taskset (util-linux)")
        return
    p = subprocess.run([taskset, "-c", "0", BIN, "-r", LOGIN, "--format", "json",
                        "--workers", "auto", "--stats"], capture_output=True, timeout=60)
    err = p.stderr.decode()
    check(p.returncode == 0, "--workers auto: exit %d %r" % (p.returncode, err))
    check("--workers auto: 1 engine on 1 core" in err, "one core: %r" % err)
    check([o for o in json_lines(p.stdout.decode()) if o.get("event") != "stats"]
          == json_lines(ref), "one core: events differ from one engine's")
    rc, out, err = run("-r", LOGIN, "--workers", "auto", "--workers", "2", "--stats", "-q")
    check("--workers auto" not in err and "2 workers" in err, "auto then 2: %r" % err)
    cfg = write_tmp("workers = auto\n")
    try:
        p = subprocess.run([taskset, "-c", "0", BIN, "--config", cfg, "-r", LOGIN, "--stats",
                            "-q"], capture_output=True, timeout=60)
        check("--workers auto: 1 engine on 1 core" in p.stderr.decode(),
              "config file: %r" % p.stderr)
    finally:
        os.unlink(cfg)
    rc, out, err = run("-r", LOGIN, "--workers", "auto", "-w", os.devnull, "--stats", "-q")
    expect_rc(rc, 0, err, "--workers auto with -w (one engine)")


def run_on_pty(args, which, env=None):
    """Runs ftpinspect with stdout or stderr (which) on a terminal, the other to /dev/null.
    Returns (exit status, bytes written to the terminal)."""
    import pty
    master, slave = pty.openpty()
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    streams[which] = slave
    p = subprocess.Popen([BIN] + args, env=env, **streams)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    p.wait(timeout=300)
    os.close(master)
    return p.returncode, got


def make_many_sessions(path, copies, repeat=1):
    """ftp_login.pcap repeated with other client ports and later times (many sessions); the
    whole is written `repeat` times (then time goes back: only for bulk)."""
    raw = open(LOGIN, "rb").read()
    recs, off = [], 24
    while off < len(raw):
        sec, usec, cl, wl = struct.unpack_from("<IIII", raw, off)
        recs.append((sec, usec, bytearray(raw[off + 16:off + 16 + cl]), wl))
        off += 16 + cl
    body = []
    for k in range(copies):
        base = 20000 + 2 * (k % 20000)
        for sec, usec, data, wl in recs:
            d = bytearray(data)
            for o in (34, 36):  # TCP source / destination port
                port = struct.unpack_from(">H", d, o)[0]
                if port in (40312, 40313):
                    struct.pack_into(">H", d, o, base + port - 40312)
            body.append(struct.pack("<IIII", sec + k, usec, len(d), wl) + bytes(d))
    body = b"".join(body)
    with open(path, "wb") as f:
        f.write(raw[:24])
        for _ in range(repeat):
            f.write(body)


@test
def t_signals():
    import signal
    import time
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        big = os.path.join(d, "many.pcap")
        make_many_sessions(big, 3000)
        p = subprocess.Popen([BIN, "-r", big, "--format", "json", "-v"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        # Output has begun: the handlers are installed. (os.read: nothing stays in a buffer
        # that communicate() would not see.)
        first = os.read(p.stdout.fileno(), 65536)
        time.sleep(0.5)  # the pipe is full: ftpinspect waits in a write
        p.send_signal(signal.SIGUSR1)
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        out = first + out
        err = err.decode()
        check(p.returncode == 0, "exit %d after SIGINT: %r" % (p.returncode, err))
        check("packets," in err and "sessions" in err, "SIGUSR1 printed no statistics: %r" % err)
        objs = json_lines(out.decode())
        sess = events(objs, "session")
        check(0 < len(sess) < 3000, "want some but not all sessions, got %d" % len(sess))
        last = [o for o in objs if o["event"] == "command"][-1]
        check(any(s["session"] == last["session"] for s in sess),
              "the session open at SIGINT was not flushed")
    finally:
        shutil.rmtree(d)


@test
def t_progress():
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        big = os.path.join(d, "many.pcap")
        # big enough to take longer than the first progress update (0.25 s) on a fast build
        make_many_sessions(big, 3000, repeat=12)
        for extra, want in (([], True), (["--no-progress"], False)):
            rc, got = run_on_pty(["-r", big, "--format", "json", "-v"] + extra, "stderr")
            check(rc == 0, "exit %d" % rc)
            shown = b"MB/s" in got and b"%" in got
            check(shown == want, "progress line %s with %r: %r" %
                  ("missing" if want else "shown", extra, got[:200]))
    finally:
        shutil.rmtree(d)


@test
def t_duration():
    rc, out, err = run("-r", LOGIN, "-r", ANON, "--duration", "50", "--format", "json")
    expect_rc(rc, 0, err, "--duration")
    s = events(json_lines(out), "session")
    check([x["client"]["ip"] for x in s] == ["10.0.0.2"], "--duration 50 read past 50 s: %r" % s)


@test
def t_no_progress():
    # stderr is a pipe here: no progress line, ever.
    rc, out, err = run("-r", LOGIN, "--format", "json")
    check(err == "", "unexpected stderr: %r" % err)


@test
def t_closed_pipe():
    # `ftpinspect -r X --format json | head -1`: exit 0, nothing on stderr, stops early.
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        big = os.path.join(d, "many.pcap")
        make_many_sessions(big, 3000)
        for fmt in ("json", "text"):
            p = subprocess.Popen([BIN, "-r", big, "--format", fmt, "-v"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdout.readline()
            p.stdout.close()
            err = p.stderr.read().decode()
            rc = p.wait(timeout=120)
            check(rc == 0, "%s: exit %d after the reader closed the pipe: %r" % (fmt, rc, err))
            check(err == "", "%s: noise on stderr: %r" % (fmt, err))
        # The same through a real shell pipeline, as a user types it.
        p = subprocess.run(["sh", "-c", '"$0" -r "$1" --format json | head -1', BIN, big],
                           capture_output=True, timeout=120)
        check(p.returncode == 0 and p.stderr == b"" and p.stdout.count(b"\n") == 1,
              "| head -1: rc %d, stderr %r" % (p.returncode, p.stderr))
        # -w - into a closed pipe: quiet too.
        p = subprocess.run(["sh", "-c", '"$0" -r "$1" -w - 2>&1 >/dev/null | head -c 10; '
                            '"$0" -r "$1" -w - --format json 2>/dev/null | head -c 100 '
                            '>/dev/null; echo "rc=$?"', BIN, big],
                           capture_output=True, timeout=120)
        check(b"rc=0" in p.stdout, "-w - | head: %r" % p.stdout[-200:])
    finally:
        shutil.rmtree(d)


@test
def t_full_disk():
    # -w onto a full file system (a 64 KiB tmpfs in a private mount namespace): a clear error
    # naming the file and the cause, exit 1, no crash.
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare (a private tmpfs)")
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        big = os.path.join(d, "many.pcap")
        make_many_sessions(big, 300)
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        script = ('mount -t tmpfs -o size=64k ftpi-full "$2" || exit 77; '
                  '"$0" -r "$1" -w "$2/out.pcapng" --format json >"$3" 2>"$4"; echo "rc=$?"')
        outf, errf = os.path.join(d, "out.json"), os.path.join(d, "err.txt")
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                            BIN, big, mnt, outf, errf], capture_output=True, timeout=120)
        if p.returncode == 77:
            raise Skip("cannot mount a tmpfs: %r" % p.stderr)
        res = p.stdout.decode()
        err = open(errf).read()
        check("rc=1" in res, "exit status: %r (stderr %r)" % (res, err))
        check("out.pcapng: write error: No space left on device" in err,
              "no clear message: %r" % err)
        check(err.count("write error") == 1, "the error is repeated: %r" % err)
        json_lines(open(outf).read())
        check(not os.path.exists(os.path.join(mnt, "out.pcapng")),
              "the tmpfs leaked out of the private mount namespace")
    finally:
        shutil.rmtree(d)


@test
def t_growing_file():
    # -r on a pcap and a pcapng that are still being written (the writer holds them open,
    # the last record half written): read to the current end, a note, exit 0.
    import threading
    import time
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        for src in (LOGIN, ANON_NG):
            raw = open(src, "rb").read()
            path = os.path.join(d, "growing" + os.path.splitext(src)[1])
            cut = len(raw) * 2 // 3
            f = open(path, "wb")
            f.write(raw[:cut])
            f.flush()
            stop = threading.Event()

            def writer():  # keeps writing the rest, slowly, while ftpinspect reads
                pos = cut
                while not stop.is_set() and pos < len(raw):
                    stop.wait(0.5)
                    f.write(raw[pos:pos + 7])
                    f.flush()
                    pos += 7
            t = threading.Thread(target=writer)
            t.start()
            try:
                rc, out, err = run("-r", path, "--format", "json")
            finally:
                stop.set()
                t.join()
                f.close()
            expect_rc(rc, 0, err, "%s still being written" % os.path.basename(path))
            check("note:" in err and path in err, "no note naming the file: %r" % err)
            check("error" not in err, "an error: %r" % err)
            json_lines(out)
    finally:
        shutil.rmtree(d)


@test
def t_tcpdump_habits():
    ref = run("-r", LOGIN, "--format", "json")[1]
    for extra in (["-n"], ["-l"], ["-U"], ["-q"], ["-s", "0"], ["-n", "-l", "-U", "-q"]):
        rc, out, err = run("-r", LOGIN, "--format", "json", *extra)
        expect_rc(rc, 0, err, " ".join(extra))
        check(out == ref, "%s changes the output" % " ".join(extra))
    rc, out, err = run("-r", LOGIN, "-s", "262145")
    expect_rc(rc, 2, err, "-s over the maximum")
    # -w -: pcapng on stdout, the events on stderr.
    p = subprocess.run([BIN, "-r", LOGIN, "-w", "-", "--format", "json"], capture_output=True,
                       timeout=60)
    check(p.returncode == 0, "-w -: exit %d %r" % (p.returncode, p.stderr))
    check(p.stdout[:4] == b"\x0a\x0d\x0d\x0a", "-w -: stdout is not pcapng: %r" % p.stdout[:8])
    check(p.stderr.decode() == ref, "-w -: the events are not on stderr")
    f = os.path.join(tempfile.mkdtemp(prefix="ftpi-cli-"), "x.pcapng")
    try:
        open(f, "wb").write(p.stdout)
        check(len(read_pcapng_comments(f)) == 38, "-w -: not 38 packets")
    finally:
        shutil.rmtree(os.path.dirname(f))
    # -D lists interfaces as tcpdump does ("1.lo [Loopback, Up, Running...]").
    rc, out, err = run("-D")
    if rc == 0:
        check(re.search(r"^\d+\.lo\b.*\[Loopback", out, re.M), "-D: %r" % out)
    else:
        check("-D:" in err, "-D failed without a reason: %r" % err)


@test
def t_no_color():
    def colored(env_extra, extra=()):
        env = dict(os.environ)
        env.pop("NO_COLOR", None)
        env["TERM"] = "xterm"
        env.update(env_extra)
        return b"\x1b[" in run_on_pty(["-r", LOGIN] + list(extra), "stdout", env)[1]
    check(colored({}), "no colour on a terminal" + ENGINE)
    check(not colored({"NO_COLOR": "1"}), "NO_COLOR=1 does not turn colour off")
    check(not colored({"TERM": "dumb"}), "TERM=dumb does not turn colour off")
    check(colored({"NO_COLOR": ""}), "an empty NO_COLOR turns colour off (it must not)")
    check(colored({"NO_COLOR": "1"}, ["--color", "always"]), "--color always loses to NO_COLOR")


@test
def t_sighup():
    # SIGHUP reopens -w (log rotation): the rotated file and the new one are both whole pcapng,
    # and together hold every packet.
    import signal
    import time
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        big = os.path.join(d, "many.pcap")
        make_many_sessions(big, 3000)
        w = os.path.join(d, "out.pcapng")
        p = subprocess.Popen([BIN, "-r", big, "--format", "json", "-v", "-w", w],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = os.read(p.stdout.fileno(), 65536)
        time.sleep(0.5)  # the pipe is full: ftpinspect waits in a write
        os.rename(w, w + ".1")
        p.send_signal(signal.SIGHUP)
        time.sleep(0.2)
        out, err = p.communicate(timeout=120)
        check(p.returncode == 0, "exit %d: %r" % (p.returncode, err))
        check(os.path.exists(w), "SIGHUP did not reopen %s" % w)
        a, b = read_pcapng_comments(w + ".1"), read_pcapng_comments(w)
        check(a and b, "packets before/after the rotation: %d/%d" % (len(a), len(b)))
        check(len(a) + len(b) == 3000 * 38, "%d + %d packets, want %d" %
              (len(a), len(b), 3000 * 38))
    finally:
        shutil.rmtree(d)


LAB = os.path.join(HERE, "..", "..", "captures")
# Community IDs Wireshark 4.0.17 gives (tshark --enable-protocol communityid) for
# captures/vsftpd_active_port.pcap: the control connection and the LIST data connection.
CID_KNOWN = {
    (("10.0.1.2", 38768), ("10.0.2.2", 21)): "1:+wZLD5lOVKH/SKWTC3j6beZqa1w=",
    (("10.0.2.2", 20), ("10.0.1.2", 44769)): "1:0QldKeipsTaanBQS2yWEkk5sre4=",
}


def cid_events(path):
    rc, out, err = run("-r", path, "--format", "json", "-v", "--flows")
    expect_rc(rc, 0, err, path)
    got = {}
    for o in json_lines(out):
        if "community_id" not in o:
            continue
        c, s = o["client"], o["server"]
        key = tuple(sorted(((c["ip"], c["port"]), (s["ip"], s["port"]))))
        check(got.setdefault(key, o["community_id"]) == o["community_id"],
              "%s: two community ids for %r" % (path, key))
    return got


@test
def t_community_id():
    got = cid_events(os.path.join(LAB, "vsftpd_active_port.pcap"))
    for key, want in CID_KNOWN.items():
        k = tuple(sorted(key))
        check(got.get(k) == want, "community_id of %r: %r, want %r" % (k, got.get(k), want))
    # Every event naming a connection has one; server/expect events have none.
    rc, out, err = run("-r", LOGIN, "--format", "json", "-v", "--stats", "--summary")
    for o in json_lines(out):
        named = o["event"] in ("session", "data", "command", "reply") or (
            o["event"] == "finding" and o["client"]["port"] != 0)
        check(("community_id" in o) == named, "community_id presence: %r" % o)
    # Against Wireshark's own Community ID dissector on every lab capture, when tshark is here.
    tshark = shutil.which("tshark")
    if tshark is None:
        print("tshark not found: only the known values were checked")
        return
    n = 0
    # Every eighth lab capture (tshark takes a while), and IPv6 ones when the public set is here.
    paths = [os.path.join(LAB, f) for f in sorted(os.listdir(LAB)) if f.endswith(".pcap")][::8]
    pub = os.path.join(HERE, "..", "..", "..", "shared", "captures-public", "zeek")
    v6 = [os.path.join(pub, f) for f in ("ipv6.pcap", "ipv6-retr-samba.pcap")]
    if all(os.path.exists(f) for f in v6):
        paths += v6
    else:
        print("../shared/captures-public absent: IPv6 not compared with Wireshark")
    for path in paths:
        name = os.path.basename(path)
        p = subprocess.run([tshark, "--enable-protocol", "communityid", "-r", path, "-Y", "tcp",
                            "-T", "fields", "-e", "communityid", "-e", "ip.src", "-e",
                            "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst",
                            "-e", "tcp.dstport"], capture_output=True, text=True, timeout=120)
        ref = {}
        for line in p.stdout.splitlines():
            f = line.split("\t")
            if len(f) != 7 or not f[0]:
                continue
            key = tuple(sorted(((f[1] or f[2], int(f[3])), (f[4] or f[5], int(f[6])))))
            ref[key] = f[0]
        for key, cid in cid_events(path).items():
            if key in ref:
                check(ref[key] == cid, "%s %r: %s, Wireshark %s" % (name, key, cid, ref[key]))
                n += 1
    check(n > 0, "no connection compared with Wireshark")
    print("%d connections agree with Wireshark's Community ID" % n)


@test
def t_eve_timestamp():
    import datetime
    for tz, off in (("UTC", "+0000"), ("IST-05:30", "+0530"), ("EST+05", "-0500")):
        env = dict(os.environ, TZ=tz)
        rc, out, err = run("-r", LOGIN, "--format", "json", "-v", "--stats", "--summary",
                           env=env)
        expect_rc(rc, 0, err, "json TZ=" + tz)
        objs = json_lines(out)
        check(objs, "no events")
        for o in objs:
            ts = o.get("timestamp")
            check(isinstance(ts, str) and re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}", ts),
                "TZ=%s: bad timestamp %r" % (tz, ts))
            check(ts.endswith(off), "TZ=%s: offset of %r, want %s" % (tz, ts, off))
            t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z")
            us = round(o["ts"] * 1e6)
            got = int(t.timestamp()) * 1000000 + t.microsecond
            check(got == us, "TZ=%s: timestamp %s is not ts %.6f" % (tz, ts, o["ts"]))

def read_zeek(path):
    """(header dict, list of row dicts) of every header block in a Zeek TSV log."""
    hdr, rows, fields = {}, [], None
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            parts = line.split("\t")
            if line.startswith("#"):
                hdr.setdefault(parts[0], []).append(parts[1:])
                if parts[0] == "#fields":
                    fields = parts[1:]
                continue
            check(fields and len(parts) == len(fields), "%s: bad row %r" % (path, line))
            rows.append(dict(zip(fields, parts)))
    return hdr, rows


def zeek_stamp_now(stamp):
    import time
    t = time.mktime(time.strptime(stamp, "%Y-%m-%d-%H-%M-%S"))
    return abs(t - time.time()) < 300


# Zeek's own baseline (testing/btest/Baseline/scripts.base.protocols.ftp.cwd-navigation/ftp.log)
# for ../shared/captures-public/zeek/cwd-navigation.pcap: the first RETR arguments.
CWD_NAV_ZEEK = [
    "ftp://10.167.25.101/./pub/data/noaa/isd-lite/2015/720962-99999-2015.gz",
    "ftp://10.167.25.101/./pub/data/noaa/isd-lite/2016/720962-99999-2016.gz",
    "ftp://10.167.25.101/./pub/data/noaa/isd-lite/2011/720963-99999-2011.gz",
]


@test
def t_log_dir():
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        logs = os.path.join(d, "zeek", "logs")  # created with its missing parent, as mkdir -p
        rc, out, err = run("-r", LOGIN, "-r", ANON, "--format", "json", "--log-dir", logs)
        expect_rc(rc, 0, err, "--log-dir")
        findings = events(json_lines(out), "finding")
        fh, ftp = read_zeek(os.path.join(logs, "ftp.log"))
        nh, notice = read_zeek(os.path.join(logs, "notice.log"))
        for h, name in ((fh, "ftp"), (nh, "notice")):
            check(h["#path"] == [[name]], "%s.log #path %r" % (name, h["#path"]))
            check(len(h["#open"]) == 1 and zeek_stamp_now(h["#open"][0][0]),
                  "%s.log #open %r is not now" % (name, h["#open"]))
            check(len(h["#close"]) == 1 and zeek_stamp_now(h["#close"][0][0]),
                  "%s.log #close %r is not now" % (name, h["#close"]))
        check(nh["#fields"][0][:6] == ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h",
                                       "id.resp_p"], "notice fields %r" % nh["#fields"])
        for k in ("note", "msg", "sub", "src", "dst", "p", "actions"):
            check(k in nh["#fields"][0], "notice.log lacks %s" % k)
        check(len(notice) == len(findings) > 0,
              "%d notice rows for %d findings" % (len(notice), len(findings)))
        check(sorted(r["note"] for r in notice) ==
              sorted("FTPInspect::" + f["kind"] for f in findings), "notes differ from findings")
        # One uid per session, the same in both logs.
        by_conn = {}
        for r in ftp + notice:
            if r["uid"] == "-":
                continue
            check(re.fullmatch(r"C[0-9A-Za-z]{17}", r["uid"]), "uid %r" % r["uid"])
            key = (r["id.orig_h"], r["id.orig_p"])
            check(by_conn.setdefault(key, r["uid"]) == r["uid"], "two uids for %r" % (key,))
        check(len(set(by_conn.values())) == len(by_conn) == 2, "uids %r" % by_conn)
        plaintext = [r for r in notice if r["note"] == "FTPInspect::plaintext_auth"]
        check(plaintext and plaintext[0]["uid"] in {r["uid"] for r in ftp},
              "plaintext_auth notice has no ftp.log uid")
        retr = [r for r in ftp if r["command"] == "RETR"]
        check(retr and retr[0]["arg"] == "ftp://10.0.0.1/./hello.txt",
              "RETR arg %r" % (retr and retr[0]["arg"]))
        for name in ("ftp.log", "notice.log"):
            with open(os.path.join(logs, name), encoding="utf-8") as f:
                check("s3cret" not in f.read(), "the password leaked into " + name)
        # Random per run.
        rc, out, err = run("-r", LOGIN, "--format", "json", "--log-dir", logs)
        expect_rc(rc, 0, err, "--log-dir again")
        _, ftp2 = read_zeek(os.path.join(logs, "ftp.log"))
        check(ftp2 and ftp2[0]["uid"] not in by_conn.values(), "uid not random per run")
        # Zeek's own rows for a capture that walks directories.
        nav = os.path.join(HERE, "..", "..", "..", "shared", "captures-public", "zeek",
                           "cwd-navigation.pcap")
        if not os.path.exists(nav):
            print("../shared/captures-public absent: Zeek baseline comparison skipped")
            return
        rc, out, err = run("-r", nav, "-q", "--log-dir", logs)
        expect_rc(rc, 0, err, nav)
        _, rows = read_zeek(os.path.join(logs, "ftp.log"))
        got = [r["arg"] for r in rows if r["command"] == "RETR"][:len(CWD_NAV_ZEEK)]
        check(got == CWD_NAV_ZEEK, "cwd-navigation RETR args %r" % got)
    finally:
        shutil.rmtree(d)


# Zeek's ftp.log for ../shared/captures-public/zeek/ipv4.pcap with files (base/protocols/ftp/
# files.zeek): the fuid of the session's latest file, kept from row to row; mime_type only on the
# row written after the file was typed (its RETR). As Zeek's modern baselines show it
# (testing/btest/Baseline/scripts.base.protocols.ftp.ftp-get-file-size: the PASV rows carry
# the fuid of the previous LIST). (command, index of the file in files.log or None, mime_type)
# Lab captures with clear-text transfers both ways (RETR, STOR, APPE, STOU; passive and active).
HASHED_CAPS = ("vsftpd_active_port.pcap", "vsftpd_plain_passive.pcap",
               "pyftpdlib_mlsd_nlst_appe_stou.pcap")
IPV4_ZEEK_FILES = [("PASV", None, "-"), ("PASV", 0, "-"), ("RETR", 1, "text/plain"),
                   ("PORT", 1, "-"), ("PORT", 2, "-"), ("RETR", 3, "text/plain")]


@test
def t_zeek_file_ids():
    """ftp.log's mime_type and fuid with --file-hashes: the fuid is files.log's for the same
    transfer, the same in --format zeek and --log-dir; both stay "-" without hashing."""
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        n = 0
        for cap in HASHED_CAPS:
            logs = os.path.join(d, cap)
            rc, out, err = run("-r", os.path.join(LAB, cap), "--format", "zeek",
                               "--file-hashes", "--zeek-commands",
                               "RETR,STOR,APPE,STOU,PASV,EPSV,PORT,EPRT,LIST,NLST,MLSD",
                               "--log-dir", logs)
            expect_rc(rc, 0, err, cap)
            _, ftp = read_zeek(os.path.join(logs, "ftp.log"))
            _, files = read_zeek(os.path.join(logs, "files.log"))
            stdout_rows = [line.split("\t") for line in out.splitlines()
                           if line and not line.startswith("#")]
            check([r[18] for r in stdout_rows] == [r["fuid"] for r in ftp],
                  "%s: --format zeek and --log-dir differ in fuid" % cap)
            by_fuid = {r["fuid"]: r for r in files}
            check(len(by_fuid) == len(files) > 0, "%s: files.log fuids %r" % (cap, files))
            seen = False
            for r in ftp:
                if r["fuid"] == "-":
                    check(not seen, "%s: fuid lost after a file: %r" % (cap, r))
                    continue
                seen = True
                f = by_fuid.get(r["fuid"])
                check(f is not None, "%s: fuid %s not in files.log" % (cap, r["fuid"]))
                if r["command"] in ("RETR", "STOR", "APPE", "STOU") and f is not None:
                    # its own transfer: files.log names the same file and type
                    # STOU without a name: the working directory's URL, as Zeek writes it
                    check(r["arg"].endswith("/" + f["filename"]) or
                          (f["filename"] == "-" and r["arg"].startswith("ftp://") and
                           r["arg"].endswith("/.")), "%s: %s row %s has the fuid of "
                          "%s" % (cap, r["command"], r["arg"], f["filename"]))
                    check(r["mime_type"] == f["mime_type"] != "-", "%s: mime_type %r, "
                          "files.log %r" % (cap, r["mime_type"], f["mime_type"]))
                    n += 1
                if r["command"] in ("PASV", "EPSV", "PORT", "EPRT"):
                    check(r["mime_type"] == "-", "%s: mime_type on %r" % (cap, r))
        check(n >= 4, "only %d transfers with their own fuid" % n)
        # Without --file-hashes nothing is filled.
        rc, out, err = run("-r", os.path.join(LAB, "vsftpd_plain_passive.pcap"), "--format",
                           "zeek")
        rows = [line.split("\t") for line in out.splitlines() if line[:1] not in ("#", "")]
        check(rows and all(r[10] == "-" and r[18] == "-" for r in rows),
              "mime_type/fuid without --file-hashes")
        pub = os.path.join(HERE, "..", "..", "..", "shared", "captures-public", "zeek",
                           "ipv4.pcap")
        if not os.path.exists(pub):
            print("../shared/captures-public absent: ipv4.pcap against Zeek skipped")
            return
        logs = os.path.join(d, "ipv4")
        rc, out, err = run("-r", pub, "-q", "--file-hashes", "--log-dir", logs)
        expect_rc(rc, 0, err, pub)
        _, ftp = read_zeek(os.path.join(logs, "ftp.log"))
        _, files = read_zeek(os.path.join(logs, "files.log"))
        fuids = [f["fuid"] for f in files]
        got = [(r["command"], fuids.index(r["fuid"]) if r["fuid"] in fuids else None,
                r["mime_type"]) for r in ftp]
        check(got == IPV4_ZEEK_FILES, "ipv4.pcap rows %r" % got)
    finally:
        shutil.rmtree(d)


@test
def t_zeek_commands():
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        # The logged set is configurable, like Zeek's FTP::logged_commands.
        rc, out, err = run("-r", LOGIN, "-r", ANON, "--format", "zeek",
                           "--zeek-commands", "retr,pasv")
        expect_rc(rc, 0, err, "--zeek-commands")
        p = os.path.join(d, "ftp.log")
        with open(p, "w") as f:
            f.write(out)
        _, rows = read_zeek(p)
        by_uid = {}
        for r in rows:
            by_uid.setdefault(r["uid"], []).append(r["command"])
        check(len(by_uid) == 2, "sessions %r" % by_uid)
        for cmds in by_uid.values():
            # The logged commands, or the one row of a session that ran none of them.
            check(set(cmds) <= {"RETR", "PASV"} or len(cmds) == 1, "commands %r" % by_uid)
        check(any("RETR" in c for c in by_uid.values()), "no RETR row: %r" % by_uid)
        # log_at_least_one_command: a session that logged in and ran none of the logged
        # commands still has one row (its last command).
        rc, out, err = run("-r", LOGIN, "--format", "zeek", "--zeek-commands", "DELE")
        expect_rc(rc, 0, err, "--zeek-commands DELE")
        with open(p, "w") as f:
            f.write(out)
        _, rows = read_zeek(p)
        check(len(rows) == 1 and rows[0]["user"] == "alice" and rows[0]["command"] != "DELE",
              "log_at_least_one_command rows %r" % rows)
        check(rows[0]["password"] == "<hidden>", "password %r" % rows[0]["password"])
        rc, out, err = run("-r", LOGIN, "--zeek-commands", "RE TR")
        expect_rc(rc, 2, err, "--zeek-commands with a space")
        check("--zeek-commands" in err, "error does not name the option: %r" % err)
    finally:
        shutil.rmtree(d)


@test
def t_zeek_pipelined():
    # Six DELE commands sent before any reply (tests/crafted/ftp_pipelined.pcap): the writer's
    # queue of waiting commands grows, oldest first, and each row has its own reply.
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        pcap = os.path.join(HERE, "..", "crafted", "ftp_pipelined.pcap")
        rc, out, err = run("-r", pcap, "--format", "zeek")
        expect_rc(rc, 0, err, "pipelined")
        p = os.path.join(d, "ftp.log")
        with open(p, "w") as f:
            f.write(out)
        _, rows = read_zeek(p)
        got = [(r["command"], r["arg"], r["reply_code"], r["reply_msg"]) for r in rows
               if r["command"] == "DELE"]
        want = [("DELE", "ftp://10.2.0.2/./f%d" % k, "550" if k % 3 == 0 else "250",
                 ("f%d: no such file" if k % 3 == 0 else "f%d deleted") % k) for k in range(1, 7)]
        check(got == want, "DELE rows %r, want %r" % (got, want))
    finally:
        shutil.rmtree(d)


@test
def t_log_dir_sighup():
    # SIGHUP reopens the Zeek logs (log rotation): both generations are whole logs with their
    # own header and #close, and together hold every row a run without rotation writes.
    import signal
    import time
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        big = os.path.join(d, "many.pcap")
        make_many_sessions(big, 3000)
        ref = os.path.join(d, "ref")
        rc, out, err = run("-r", big, "-q", "--log-dir", ref)
        expect_rc(rc, 0, err, "reference run")
        _, want_ftp = read_zeek(os.path.join(ref, "ftp.log"))
        _, want_notice = read_zeek(os.path.join(ref, "notice.log"))
        logs = os.path.join(d, "logs")
        p = subprocess.Popen([BIN, "-r", big, "--format", "json", "-v", "--log-dir", logs],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.read(p.stdout.fileno(), 65536)
        time.sleep(0.5)  # the pipe is full: ftpinspect waits in a write
        for n in ("ftp.log", "notice.log"):
            os.rename(os.path.join(logs, n), os.path.join(logs, n + ".1"))
        p.send_signal(signal.SIGHUP)
        time.sleep(0.2)
        out, err = p.communicate(timeout=120)
        check(p.returncode == 0, "exit %d: %r" % (p.returncode, err))
        for n, want in (("ftp.log", want_ftp), ("notice.log", want_notice)):
            h1, a = read_zeek(os.path.join(logs, n + ".1"))
            h2, b = read_zeek(os.path.join(logs, n))
            check(len(h1["#close"]) == 1 and len(h2["#open"]) == 1 and len(h2["#close"]) == 1,
                  "%s: headers %r / %r" % (n, h1.get("#close"), h2.get("#open")))
            check(b, "%s: no rows after the rotation" % n)
            check(len(a) + len(b) == len(want) > 0,
                  "%s: %d + %d rows, want %d" % (n, len(a), len(b), len(want)))
    finally:
        shutil.rmtree(d)

@test
def t_config_ini():
    """--config with libinih: sections, comments, every long option as a key, the command line
    winning, errors naming file and line, and the default file."""
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        logs = os.path.join(d, "logs")
        path = write_tmp("; sensor settings\n[output]\nformat = json\nsummary = yes\n"
                         "verbose = yes\nlog-dir = %s\nzeek-commands = RETR\n\n"
                         "[policy]  # the agreed policy\npassive-range = 50000-50100 # agreed\n"
                         "fail-on = high\n" % logs)
        try:
            env = dict(os.environ, FTPINSPECT_CONFIG="")
            rc, out, err = run("-r", LOGIN, "--config", path, env=env)
            expect_rc(rc, 3, err, "config with sections (fail-on = high)" + ENGINE)
            objs = json_lines(out)
            check(events(objs, "summary") and events(objs, "command"),
                  "summary/verbose from the file not applied")
            _, rows = read_zeek(os.path.join(logs, "ftp.log"))
            check(rows and {r["command"] for r in rows} == {"RETR"}, "log-dir/zeek-commands")
            # The command line wins over the file, for plain options and policy keys alike.
            rc, out, err = run("-r", LOGIN, "--config", path, "--format", "text",
                               "--fail-on", "info", env=env)
            expect_rc(rc, 3, err, "--fail-on info")
            check(not out.startswith("{") and "SESSION" in out, "--format text did not win")
            # The default file: $FTPINSPECT_CONFIG names it (empty: none).
            env2 = dict(os.environ, FTPINSPECT_CONFIG=path)
            rc, out, err = run("-r", LOGIN, env=env2)
            expect_rc(rc, 3, err, "default config from FTPINSPECT_CONFIG")
            check(out.startswith("{"), "the default config file was not read")
            rc, out, err = run("-r", LOGIN, env=env)
            expect_rc(rc, 0, err, "FTPINSPECT_CONFIG empty")
        finally:
            os.unlink(path)
        cases = [("[output]\nformat = xml\n", ":2:", "format"),
                 ("[a]\n[b\nformat = json\n", ":2:", "syntax"),
                 ("[policy]\n\nnot-an-option = 1\n", ":3:", "not-an-option"),
                 ("help = yes\n", ":1:", "help"),
                 ("verbose = maybe\n", ":1:", "verbose"),
                 ("snaplen = -1\n", ":1:", "snaplen"),
                 ("# x\nserver-name = %s\n" % ("a" * 300), ":2:", "too long")]
        for text, where, word in cases:
            path = write_tmp(text)
            try:
                rc, out, err = run("-r", LOGIN, "--config", path)
                expect_rc(rc, 2, err, "config %r" % text[:40])
                check(path + where in err, "message does not name file:line %r: %r" % (where, err))
                check(word in err, "message does not name %r: %r" % (word, err))
            finally:
                os.unlink(path)
        # /etc/ftpinspect/ftpinspect.conf itself, in a private mount namespace.
        if os.geteuid() != 0 or not shutil.which("unshare"):
            print("not root: /etc/ftpinspect/ftpinspect.conf itself not tried")
            return
        etc = os.path.join(d, "etc")
        os.makedirs(os.path.join(etc, "ftpinspect"))
        with open(os.path.join(etc, "ftpinspect", "ftpinspect.conf"), "w") as f:
            f.write("[output]\nformat = json\n")
        env = {k: v for k, v in os.environ.items() if k != "FTPINSPECT_CONFIG"}
        p = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc && exec "$1" '
                            '-r "$2" -q', etc, BIN, LOGIN], capture_output=True, env=env,
                           timeout=60)
        check(p.returncode == 0 and p.stdout.startswith(b"{"),
              "/etc/ftpinspect/ftpinspect.conf not read: rc %d %r" % (p.returncode, p.stderr))
    finally:
        shutil.rmtree(d)

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@test
def t_report():
    """--report: one self-contained page, rendered by headless Chromium; its text names every
    server and every finding kind of the run."""
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        caps = [os.path.join(LAB, f) for f in sorted(os.listdir(LAB)) if f.endswith(".pcap")][:12]
        caps += [LOGIN, ANON, HOSTILE]
        page = os.path.join(d, "report.html")
        args = []
        for c in caps:
            args += ["-r", c]
        rc, out, err = run(*(args + ["--format", "json", "--passive-range", "50000-50100",
                                     "--report", page, "-q"]))
        check(rc == 0, "exit %d: %r" % (rc, err[-500:]))
        objs = json_lines(out)
        servers = set()
        for o in events(objs, "session"):
            ip = o["server"]["ip"]
            servers.add(("[%s]" % ip if ":" in ip else ip) + ":%d" % o["server"]["port"])
        kinds = {o["kind"] for o in events(objs, "finding")}
        check(len(servers) >= 2 and len(kinds) >= 5, "too little to check: %r %r" %
              (servers, kinds))
        with open(page, "rb") as f:
            raw = f.read()
        bad = [b for b in set(raw) if (b < 0x20 and b not in (0x09, 0x0a)) or b >= 0x7f]
        check(not bad, "raw bytes in the page: %r" % sorted(bad))
        html = raw.decode("ascii")
        # Self-contained: no script, no resource from elsewhere (the SVG namespace is a name).
        low = html.lower().replace('xmlns="http://www.w3.org/2000/svg"', "")
        for word in ("<script", "src=", "href=", "url(", "@import", "http:", "https:"):
            check(word not in low, "the page has %r" % word)
        check(html.count("<svg") >= 2 * len(servers), "charts are not inline SVG")
        check("nft add rule" in html and "50000-50100" in html, "no firewall rule")
        check("s3cret" not in html, "the password leaked into the report")
        browser = chromium()
        if browser is None:
            raise Skip("no chromium: the page was checked, not rendered")
        flags = [browser, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--user-data-dir=" + os.path.join(d, "u")]
        url = "file://" + page
        png = os.path.join(d, "report.png")
        p = subprocess.run(flags + ["--window-size=1200,3000", "--screenshot=" + png, url],
                           capture_output=True, timeout=120)
        check(p.returncode == 0 and os.path.exists(png), "screenshot: rc %d %r" %
              (p.returncode, p.stderr[-300:]))
        with open(png, "rb") as f:
            img = f.read()
        check(img[:8] == b"\x89PNG\r\n\x1a\n" and len(img) > 20000, "not a rendered PNG")
        p = subprocess.run(flags + ["--dump-dom", url], capture_output=True, timeout=120)
        check(p.returncode == 0, "dump-dom: rc %d %r" % (p.returncode, p.stderr[-300:]))
        dom = p.stdout.decode("utf-8", "replace")
        text = re.sub(r"<[^>]*>", " ", dom).replace("&amp;", "&")
        for s in sorted(servers):
            check("Server " + s in text, "the rendered page does not name server %s" % s)
        for k in sorted(kinds):
            check(k in text, "the rendered page does not name finding %s" % k)
        print("%d servers, %d finding kinds rendered; PNG %d bytes" %
              (len(servers), len(kinds), len(img)))
    finally:
        shutil.rmtree(d)

def tshark_payloads(tshark, path):
    """{sorted endpoint pair: {"ip:port" of the sender: payload bytes}} for every TCP stream."""
    p = subprocess.run([tshark, "-r", path, "-T", "fields", "-e", "tcp.stream", "-e", "ip.src",
                        "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-Y",
                        "tcp.flags.syn == 1 && tcp.flags.ack == 0"], capture_output=True,
                       text=True, timeout=120)
    out = {}
    for line in p.stdout.splitlines():
        f = line.split("\t")
        if len(f) != 5 or not f[0].isdigit():
            continue
        q = subprocess.run([tshark, "-r", path, "-q", "-z", "follow,tcp,raw," + f[0]],
                           capture_output=True, text=True, timeout=120)
        nodes, data = [], {0: b"", 1: b""}
        for l in q.stdout.splitlines():
            m = re.match(r"Node ([01]): (.*):(\d+)$", l)
            if m:
                nodes.append("%s:%s" % (m.group(2), m.group(3)))
            elif re.fullmatch(r"\t?[0-9a-f]+", l) and len(nodes) == 2:
                side = 1 if l.startswith("\t") else 0
                data[side] += bytes.fromhex(l.strip())
        if len(nodes) == 2:
            key = tuple(sorted(["%s:%s" % (f[1], f[2]), "%s:%s" % (f[3], f[4])]))
            out[key] = {nodes[0]: data[0], nodes[1]: data[1]}
    return out


@test
def t_file_hashes():
    """--file-hashes: each clear data connection's payload hashed as it streams and typed; the
    digests are those of the bytes Wireshark reassembles for the same connection."""
    import hashlib
    tshark = shutil.which("tshark")
    d = tempfile.mkdtemp(prefix="ftpi-cli-")
    try:
        n = 0
        for cap in HASHED_CAPS:
            path = os.path.join(LAB, cap)
            logs = os.path.join(d, cap)
            rc, out, err = run("-r", path, "--format", "json", "--file-hashes=md5,sha1,sha256",
                               "--log-dir", logs)
            expect_rc(rc, 0, err, cap)
            data = events(json_lines(out), "data")
            check(data, "%s: no data events" % cap)
            _, files = read_zeek(os.path.join(logs, "files.log"))
            by_sha = {r["sha256"]: r for r in files}
            ref = tshark_payloads(tshark, path) if tshark else {}
            for ev in data:
                if ev["tls"]:
                    check(ev["sha256"] is None, "%s: a TLS connection was hashed" % cap)
                    continue
                moved = ev["bytes_to_server"] + ev["bytes_to_client"]
                if moved == 0:
                    continue
                check(re.fullmatch(r"[0-9a-f]{64}", ev["sha256"] or ""), "%s: sha256 %r" %
                      (cap, ev["sha256"]))
                check(re.fullmatch(r"[0-9a-f]{32}", ev["md5"]) and
                      re.fullmatch(r"[0-9a-f]{40}", ev["sha1"]), "%s: md5/sha1" % cap)
                check(isinstance(ev["mime_type"], str) and "/" in ev["mime_type"],
                      "%s: mime_type %r" % (cap, ev["mime_type"]))
                if ev["command"] in ("LIST", "NLST", "MLSD"):
                    check(ev["mime_type"] == "text/plain", "%s: %s typed %r" %
                          (cap, ev["command"], ev["mime_type"]))
                row = by_sha.get(ev["sha256"])
                check(row and row["md5"] == ev["md5"] and row["mime_type"] == ev["mime_type"]
                      and row["source"] == "FTP_DATA", "%s: files.log row %r" % (cap, row))
                c, s = ev["client"], ev["server"]
                key = tuple(sorted(["%s:%d" % (c["ip"], c["port"]),
                                    "%s:%d" % (s["ip"], s["port"])]))
                if key in ref:
                    want = {hashlib.sha256(b).hexdigest() for b in ref[key].values() if b}
                    check(ev["sha256"] in want, "%s %r: sha256 %s is not Wireshark's payload's"
                          % (cap, key, ev["sha256"]))
                    md5s = {hashlib.md5(b).hexdigest() for b in ref[key].values() if b}
                    check(ev["md5"] in md5s, "%s %r: md5 differs" % (cap, key))
                    n += 1
        if tshark:
            check(n >= 5, "only %d data connections compared with Wireshark" % n)
            print("%d data connections' digests equal Wireshark's reassembled payload" % n)
        else:
            print("tshark not found: digests not compared")
        # Without the option the data events keep their old shape.
        rc, out, err = run("-r", os.path.join(LAB, "vsftpd_active_port.pcap"), "--format", "json")
        check(all("sha256" not in o and "mime_type" not in o for o in json_lines(out)),
              "digests without --file-hashes")
        rc, out, err = run("-r", LOGIN, "--file-hashes=crc32")
        expect_rc(rc, 2, err, "--file-hashes=crc32")
    finally:
        shutil.rmtree(d)


def main():
    global BIN
    if len(sys.argv) != 3 or sys.argv[2] not in TESTS:
        sys.stderr.write("usage: cli_test.py FTPINSPECT {%s}\n" % ",".join(sorted(TESTS)))
        return 2
    BIN = sys.argv[1]
    # No test reads this machine's /etc/ftpinspect/ftpinspect.conf unless it says so.
    os.environ.setdefault("FTPINSPECT_CONFIG", "")
    try:
        TESTS[sys.argv[2]]()
    except Skip as e:
        print("SKIP %s: %s" % (sys.argv[2], e))
        return 77
    except Fail as e:
        print("FAIL %s: %s" % (sys.argv[2], e))
        return 1
    print("ok %s" % sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
