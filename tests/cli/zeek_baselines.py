#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""ftp.log against Zeek's own btest baselines, row by row and field by field.

    zeek_baselines.py FTPINSPECT                 the test: our rows against the facts below
    zeek_baselines.py FTPINSPECT --against DIR   measure against baseline files DIR/<case>.ftp.log
                                                 (Zeek's testing/btest/Baseline/.../ftp.log, kept
                                                 outside this tree), printing values that differ
    zeek_baselines.py --digest FILE              the facts for one baseline file, to paste below

Each case runs `ftpinspect -r CAPTURE --log-dir` with the options its btest implies: the btest's
FTP::logged_commands (--zeek-commands) and --file-hashes where Zeek ran with the files framework
(a full `zeek -r`, not `zeek -b`). The facts kept here are not Zeek's files: per row, a short
digest of every compared field. uid and fuid values are random in both programs, so they are
compared as "the n-th distinct value" (the same uid where Zeek has the same one); ts is compared
to the microsecond where the baseline kept it (modern baselines mask it as XXXXXXXXXX.XXXXXX).

Fields ftpinspect writes differently on purpose (docs/internals.md, "Zeek ftp.log"): a password is
never written without --show-passwords, so Zeek's clear anonymous passwords (its guest_ids) and the
argument of a logged PASS become <hidden>. Those cells are counted apart as "intended"; every other
differing cell is a mismatch and fails the test.

Skips (77) when ../shared/captures-public is absent.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CAPS = os.path.join(HERE, "..", "..", "..", "shared", "captures-public", "zeek")

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "user", "password",
          "command", "arg", "mime_type", "file_size", "reply_code", "reply_msg",
          "data_channel.passive", "data_channel.orig_h", "data_channel.resp_h",
          "data_channel.resp_p", "fuid"]
DEFAULT_CMDS = "APPE,DELE,RETR,STOR,STOU,ACCT,PORT,PASV,EPRT,EPSV"

# (case = baseline folder scripts.base.protocols.ftp.<case>, capture, options,
#  per row the digests of FIELDS joined by ".").  Digests from --digest of the baseline file of
# zeek/zeek at the commit named; btest options from the btest's .zeek file.
CASES = [
    # ftp-ipv4.zeek: `zeek -r` (files framework).  Baseline at 25d7b71c (2013, ts kept).
    ("ftp-ipv4", "ipv4.pcap", ["--file-hashes"], [
    ]),
    # ftp-ipv6.zeek: `zeek -r` (files framework).  Baseline at 22bf3e11 (2013, ts kept).
    ("ftp-ipv6", "ipv6.pcap", ["--file-hashes"], [
    ]),
    # ftp-get-file-size.zeek: `zeek -r`.  Baseline at a96bcef8.
    ("ftp-get-file-size", "ftp-with-numbers-in-filename.pcap", ["--file-hashes"], [
    ]),
    # ftp-invalid-reply-code.zeek: `zeek -b`, logged_commands += USER PASS SYST QUIT.  942f8298.
    ("ftp-invalid-reply-code", "ftp-invalid-reply-code.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
    ]),
    # ftp-missing-reply-code.zeek: the same options.  Baseline at 9a0dc30e.
    ("ftp-missing-reply-code", "ftp-missing-reply-code.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
    ]),
    # ftp-missing-space-after-reply-code.zeek: the same options.  Baseline at 9a0dc30e.
    ("ftp-missing-space-after-reply-code", "ftp-missing-space-after-reply-code.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
    ]),
    # ftp-multiline-reply.zeek: `zeek -b`, logged_commands += <init> USER PASS.  1b3e8a61.
    ("ftp-multiline-reply", "ipv6-multiline-reply.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",<init>,USER,PASS"], [
    ]),
    # ftp-samba-retr.zeek: `zeek -b`, logged_commands += USER PASS RETR.  c670f3fd.
    ("ftp-samba-retr", "ipv6-retr-samba.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS"], [
    ]),
    # ftp-password-pass-command.zeek: `zeek -b`, += USER PASS SYST QUIT and
    # FTP::default_capture_password = T (here --show-passwords).  Baseline at 0e926afb.
    ("ftp-password-pass-command", "ftp-password-pass-command.pcap",
     ["--show-passwords", "--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
    ]),
]


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()[:6]


def read_rows(path):
    rows, fields = [], None
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            parts = line.split("\t")
            if line.startswith("#"):
                if parts[0] == "#fields":
                    fields = parts[1:]
                continue
            if line.strip():
                rows.append(dict(zip(fields, parts)))
    return rows


def normalise(rows):
    """uid/fuid as the index of their first appearance; a masked ts as X."""
    out, ids = [], {"uid": {}, "fuid": {}}
    for r in rows:
        n = dict(r)
        for k in ("uid", "fuid"):
            v = r.get(k, "-")
            if v != "-":
                n[k] = "%s%d" % (k[0], ids[k].setdefault(v, len(ids[k])))
        if n.get("ts", "").startswith("X"):
            n["ts"] = "X"
        out.append(n)
    return out


def row_facts(row):
    return ".".join(digest(row.get(k, "")) for k in FIELDS)


def intended(field, want_row):
    """A cell ftpinspect writes differently on purpose (see the module comment)."""
    if field == "password":
        return want_row.get("password") not in ("-", "<hidden>")
    return field == "arg" and want_row.get("command") == "PASS"


def run_case(tool, cap, opts, d):
    logs = os.path.join(d, "logs")
    cmd = [tool, "-r", os.path.join(CAPS, cap), "-q", "--log-dir", logs] + opts
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr))
    return normalise(read_rows(os.path.join(logs, "ftp.log")))


def compare(name, got, want_facts, want_rows=None):
    """(rows matching, intended-only rows, mismatch lines) for one case."""
    match, intent, lines = 0, 0, []
    for i, facts in enumerate(want_facts):
        if i >= len(got):
            lines.append("%s row %d: missing" % (name, i + 1))
            continue
        want = facts.split(".")
        have = row_facts(got[i]).split(".")
        bad = [FIELDS[j] for j in range(len(FIELDS)) if want[j] != have[j] and
               not (FIELDS[j] == "ts" and want[j] == digest("X"))]
        wrow = want_rows[i] if want_rows else {}
        real = [f for f in bad if not (want_rows and intended(f, wrow))]
        if not bad:
            match += 1
        elif not real:
            intent += 1
        for f in bad:
            tag = "intended" if f not in real else "MISMATCH"
            if want_rows:
                lines.append("%s row %d %s %s: zeek %r, ftpinspect %r" % (
                    name, i + 1, got[i].get("command"), f, wrow.get(f), got[i].get(f)))
            else:
                lines.append("%s row %d %s %s: %s" % (name, i + 1, got[i].get("command"), f,
                                                       tag))
    for i in range(len(want_facts), len(got)):
        lines.append("%s row %d: extra %s row" % (name, i + 1, got[i].get("command")))
    return match, intent, lines


def main(argv):
    if len(argv) == 3 and argv[1] == "--digest":
        rows = normalise(read_rows(argv[2]))
        for r in rows:
            print('        "%s",  # %s' % (row_facts(r), r.get("command")))
        return 0
    if not os.path.isdir(CAPS):
        print("../shared/captures-public absent: Zeek baseline comparison skipped")
        return 77
    tool = argv[1]
    against = argv[3] if len(argv) == 4 and argv[2] == "--against" else None
    total = matched = intent = 0
    failed = []
    with tempfile.TemporaryDirectory(prefix="ftpi-zb-") as d:
        for name, cap, opts, facts, *_ in CASES:
            got = run_case(tool, cap, opts, os.path.join(d, name))
            want_rows = None
            if against:
                want_rows = normalise(read_rows(os.path.join(against, name + ".ftp.log")))
                facts = [row_facts(r) for r in want_rows]
            m, i, lines = compare(name, got, facts, want_rows)
            print("%s: %d of %d rows match (%d more differ only where intended)" % (
                name, m, len(facts), i))
            for line in lines:
                print("  " + line)
            total += len(facts)
            matched += m
            intent += i
            if m + i != len(facts) or len(got) != len(facts):
                failed.append(name)
    print("%d of %d rows match; %d more differ only in cells written differently on purpose"
          % (matched, total, intent))
    if failed:
        print("FAIL: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
